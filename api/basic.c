/* Verbs every skiff server answers: ping and version. */
#include "api/basic.h"
#include "lib/version.h"

#include <stdio.h>

static void
verb_ping(struct api_req *req, char *args, void *arg)
{
    api_req_ok(req, 0, NULL, "pong");
}

static void
verb_version(struct api_req *req, char *args, void *arg)
{
    char body[128];

    snprintf(body, sizeof(body), "{\"version\":\"%s\",\"protocol\":%d}\n", SKIFF_VERSION,
             SKIFF_PROTOCOL_VERSION);
    api_req_ok(req, 1, body, "protocol=%d", SKIFF_PROTOCOL_VERSION);
}

void
api_basic_register(struct api_server *srv)
{
    api_server_handle(srv, "ping", verb_ping, NULL, true);
    api_server_handle(srv, "version", verb_version, NULL, false);
}
