/* `parley plugin try`: one plugin instance, one message, no daemon (plugin_try.c). */
#ifndef PARLEY_PLUGIN_TRY_H
#define PARLEY_PLUGIN_TRY_H

/* The exit statuses, documented in the command's help and the man page. */
enum plugin_try_exit {
  TRY_DELIVERED = 0,  /* the plugin delivered the message */
  TRY_FAILED = 1,     /* failed for good (PARLEY_ERROR, send_failed) */
  TRY_USAGE = 2,      /* the command line is wrong */
  TRY_NO_OUTCOME = 70, /* the plugin never completed the message (EX_SOFTWARE) */
  TRY_RETRY = 75,     /* failed for now: the daemon would retry (EX_TEMPFAIL) */
  TRY_CONFIG = 78     /* the configuration, the plugin file or its init refused (EX_CONFIG) */
};

extern const char plugin_try_usage[];

/* argv[0] is "try"; the options follow. Returns an enum plugin_try_exit. */
int plugin_try_main(int argc, char **argv);

#endif
