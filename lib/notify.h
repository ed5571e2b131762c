#ifndef SK_NOTIFY_H
#define SK_NOTIFY_H

/* systemd's readiness protocol (sd_notify(3)), written by hand: one
 * datagram to the AF_UNIX socket named by $NOTIFY_SOCKET ("@" means the
 * abstract namespace). Without $NOTIFY_SOCKET it does nothing. */

#include "err.h"

/* Send state, e.g. "READY=1\nSTATUS=serving". Returns 0 (also when not
 * under systemd) or <0 with err. */
int sk_notify(const char *state, struct sk_err *err);

#endif
