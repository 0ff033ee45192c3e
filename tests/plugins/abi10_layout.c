/* ABI 1.0's layout as the 1.0 header lays it out: sizes, the offset of every field, and
 * the values of every constant (see abi10_fields.h). Built with tests/plugins/abi10 on the
 * include path instead of sdk/include, and linked into test_loader, which checks that
 * today's header keeps each of them. */
#include <parley/plugin.h>

#include "abi10_fields.h"

#if PARLEY_ABI_MAJOR != 1 || PARLEY_ABI_MINOR != 0
#error "abi10_layout.c must be built against the 1.0 header in tests/plugins/abi10"
#endif

#define X(f) offsetof(struct parley_host, f),
static const size_t host_offsets[] = {ABI10_HOST_FIELDS};
#undef X
#define X(f) offsetof(struct parley_plugin, f),
static const size_t plugin_offsets[] = {ABI10_PLUGIN_FIELDS};
#undef X
#define X(f) offsetof(struct parley_config_spec, f),
static const size_t spec_offsets[] = {ABI10_SPEC_FIELDS};
#undef X

const struct abi10_layout abi10_layout = {
    .host_size = sizeof(struct parley_host),
    .plugin_size = sizeof(struct parley_plugin),
    .spec_size = sizeof(struct parley_config_spec),
    .host_offsets = host_offsets,
    .plugin_offsets = plugin_offsets,
    .spec_offsets = spec_offsets,
    .status_values = {PARLEY_OK, PARLEY_PENDING, PARLEY_RETRY, PARLEY_ERROR},
    .log_levels = {PARLEY_LOG_DEBUG, PARLEY_LOG_INFO, PARLEY_LOG_WARN, PARLEY_LOG_ERROR},
    .config_types = {PARLEY_CONFIG_STRING, PARLEY_CONFIG_INT, PARLEY_CONFIG_BOOL},
    .caps = {PARLEY_CAP_SEND, PARLEY_CAP_RECEIPTS},
};
