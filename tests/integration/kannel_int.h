/* Between kannel.c (the processes) and kannel_smsc.c (the SMS centre's line protocol). */
#ifndef PARLEY_TEST_KANNEL_INT_H
#define PARLEY_TEST_KANNEL_INT_H
#include "kannel.h"

/* Connects to bearerbox's fake SMSC port. 0, or -1 (not listening yet). */
int ksmsc_connect(struct kannel *k);
/* Reads what is waiting on the connection, without blocking, into k->in. */
void ksmsc_drain(struct kannel *k);
void ksmsc_close(struct kannel *k);

#endif
