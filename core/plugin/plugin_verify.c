/* The signature helpers of the host table (ABI 1.1: hmac_sha256, hmac_sha256_verify,
 * timestamp_check, decode; see parley/plugin.h): what every plugin receiving a
 * provider's callbacks needs, written once over libsodium so that no plugin compares a
 * MAC with memcmp or parses a timestamp into an overflow. Nothing here logs: the inputs
 * are secrets and forgeries, and the plugin knows what to say about them. */
#include <sodium.h>
#include <string.h>

#include "clock.h"
#include "plugin_int.h"

#define DEFAULT_TOLERANCE_S 300
#define MAX_TIMESTAMP_DIGITS 12

enum parley_status plugin_hmac_sha256(const void *key, size_t key_len, const struct parley_bytes *parts,
                                      size_t n_parts, unsigned char out[PARLEY_HMAC_SHA256_BYTES])
{
  if (out == NULL)
    return PARLEY_ERROR;
  memset(out, 0, PARLEY_HMAC_SHA256_BYTES);
  if (key == NULL || key_len == 0 || parts == NULL || n_parts == 0)
    return PARLEY_ERROR;
  for (size_t i = 0; i < n_parts; i++)
    if (parts[i].data == NULL && parts[i].len)
      return PARLEY_ERROR;
  crypto_auth_hmacsha256_state st;
  /* the streaming form takes a key of any length (a long one is hashed, as RFC 2104 says) */
  crypto_auth_hmacsha256_init(&st, key, key_len);
  for (size_t i = 0; i < n_parts; i++)
    if (parts[i].len)
      crypto_auth_hmacsha256_update(&st, parts[i].data, parts[i].len);
  crypto_auth_hmacsha256_final(&st, out);
  sodium_memzero(&st, sizeof st);
  return PARLEY_OK;
}

/* sodium's variants for an encoding: padded first, then without padding. */
static int base64_variant(enum parley_encoding enc, int padded)
{
  if (enc == PARLEY_ENC_BASE64)
    return padded ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
  return padded ? sodium_base64_VARIANT_URLSAFE : sodium_base64_VARIANT_URLSAFE_NO_PADDING;
}

/* The whole text must decode: sodium stops at the first character it does not take, so
 * its end is compared with ours. */
enum parley_status plugin_decode(const char *text, size_t len, enum parley_encoding enc, void *out, size_t cap,
                                 size_t *out_len)
{
  size_t n = 0;
  const char *end = NULL;
  if (out_len)
    *out_len = 0;
  if (text == NULL || out == NULL || out_len == NULL || len == 0)
    return PARLEY_ERROR;
  if (enc == PARLEY_ENC_HEX) {
    if (sodium_hex2bin(out, cap, text, len, NULL, &n, &end) != 0 || end != text + len)
      return PARLEY_ERROR;
  } else if (enc == PARLEY_ENC_BASE64 || enc == PARLEY_ENC_BASE64URL) {
    int padded = text[len - 1] == '=';
    if (sodium_base642bin(out, cap, text, len, NULL, &n, &end, base64_variant(enc, padded)) != 0 ||
        end != text + len)
      return PARLEY_ERROR;
  } else {
    return PARLEY_ERROR;
  }
  *out_len = n;
  return PARLEY_OK;
}

enum parley_status plugin_hmac_sha256_verify(const void *key, size_t key_len, const struct parley_bytes *parts,
                                             size_t n_parts, const char *signature, size_t sig_len,
                                             enum parley_encoding enc)
{
  unsigned char given[PARLEY_HMAC_SHA256_BYTES + 1], mac[PARLEY_HMAC_SHA256_BYTES];
  size_t n = 0;
  /* one byte of room more than a MAC: a longer signature fails to fit, not truncated */
  if (plugin_decode(signature, sig_len, enc, given, sizeof given, &n) != PARLEY_OK ||
      n != PARLEY_HMAC_SHA256_BYTES)
    return PARLEY_ERROR;
  if (plugin_hmac_sha256(key, key_len, parts, n_parts, mac) != PARLEY_OK)
    return PARLEY_ERROR;
  int same = sodium_memcmp(mac, given, PARLEY_HMAC_SHA256_BYTES) == 0;
  sodium_memzero(mac, sizeof mac);
  return same ? PARLEY_OK : PARLEY_ERROR;
}

enum parley_status plugin_timestamp_check(parley_ctx *ctx, const char *unix_seconds, uint32_t tolerance_s)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  size_t n = unix_seconds ? strlen(unix_seconds) : 0;
  if (pi == NULL || pi->env.clock == NULL || n == 0 || n > MAX_TIMESTAMP_DIGITS ||
      strspn(unix_seconds, "0123456789") != n)
    return PARLEY_ERROR;
  int64_t ts = 0;
  for (size_t i = 0; i < n; i++) /* at most 12 digits: no overflow, in seconds or in ms */
    ts = ts * 10 + (unix_seconds[i] - '0');
  int64_t tol_ms = (int64_t)(tolerance_s ? tolerance_s : DEFAULT_TOLERANCE_S) * 1000;
  int64_t diff = clock_now_ms(pi->env.clock) - ts * 1000;
  return diff <= tol_ms && diff >= -tol_ms ? PARLEY_OK : PARLEY_ERROR;
}
