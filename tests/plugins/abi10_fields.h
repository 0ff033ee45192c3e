/* The fields of ABI 1.0's public structs, named once for two compilations: abi10_layout.c
 * measures them against the 1.0 header (tests/plugins/abi10/), test_loader.c against
 * today's sdk/include, and the test compares the two, field by field. Includes no Parley
 * header: whoever includes this one brings the header it is measuring. */
#ifndef PARLEY_TEST_ABI10_FIELDS_H
#define PARLEY_TEST_ABI10_FIELDS_H
#include <stddef.h>

#define ABI10_HOST_FIELDS                                                                  \
  X(abi_major) X(abi_minor) X(size) X(log) X(msg_id) X(msg_channel) X(msg_contact)        \
  X(msg_address) X(msg_journey) X(msg_template) X(msg_part) X(msg_attempt)                \
  X(msg_contact_attr) X(send_done) X(emit_event) X(timer_start) X(timer_cancel) X(now_ms)

#define ABI10_PLUGIN_FIELDS                                                                \
  X(abi_major) X(abi_minor) X(size) X(name) X(version) X(description) X(capabilities)     \
  X(instance_size) X(config) X(init) X(send) X(shutdown)

#define ABI10_SPEC_FIELDS X(key) X(type) X(default_value) X(required) X(offset) X(help)

/* Measured under the 1.0 header (abi10_layout.c). */
struct abi10_layout {
  size_t host_size, plugin_size, spec_size;
  const size_t *host_offsets, *plugin_offsets, *spec_offsets; /* in the order above */
  int status_values[4];                                       /* PARLEY_OK .. PARLEY_ERROR */
  int log_levels[4], config_types[3];
  unsigned caps[2]; /* PARLEY_CAP_SEND, PARLEY_CAP_RECEIPTS */
};
extern const struct abi10_layout abi10_layout;

#endif
