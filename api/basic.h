#ifndef SK_API_BASIC_H
#define SK_API_BASIC_H

#include "api/server.h"

/* Register `ping` (allowed before auth: "ok 0 pong") and `version`
 * ("ok 1 protocol=N" + {"version":"...","protocol":N}). */
void api_basic_register(struct api_server *srv);

#endif
