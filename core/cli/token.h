/* `parley token create|list|revoke`: API tokens for the HTTP API (see http/auth.h). The
 * command line is read here; the tokens file is changed by auth_create and auth_revoke. */
#ifndef PARLEY_TOKEN_H
#define PARLEY_TOKEN_H

/* The command's usage, for `parley token --help` and a usage error. */
extern const char token_usage[];

/* argv[1] is "token". Returns the exit status: 0 done, 1 refused (explained on stderr),
 * 2 a usage error (explained, then the usage). */
int token_main(int argc, char **argv);

#endif
