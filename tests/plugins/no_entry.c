/* A valid shared object that is not a Parley plugin: it exports a symbol, just not
 * parley_plugin_entry (a typo an integrator could make). */
#include <parley/plugin.h>

PARLEY_EXPORT int parley_plugin_entry_v0(void);
PARLEY_EXPORT int parley_plugin_entry_v0(void) { return 42; }
