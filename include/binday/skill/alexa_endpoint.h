/* alexa_endpoint.h - POST /alexa: verification, then the skill or a skill event. */
#ifndef BINDAY_ALEXA_ENDPOINT_H
#define BINDAY_ALEXA_ENDPOINT_H

#include "binday/http/server.h"
#include "binday/skill/skill.h"
#include "binday/alexa/verify.h"
#include "binday/data/writer.h"

/* Per-thread state the endpoint needs (server_thread_t.app points to it). */
typedef struct alexa_endpoint_thread {
    verify_thread_t *verify;
    skill_thread_t *skill;
    const skill_conf_t *conf;
    store_reader_t *reader; /* for /healthz */
    writer_port_t *port;    /* this loop's mailbox for store writer completions */
    uv_async_t *wake;       /* wakes the loop for them (port's wake) */
} alexa_endpoint_thread_t;

/* The route handler for POST /alexa. */
int alexa_endpoint_handle(server_thread_t *t, h2o_req_t *req);

#endif
