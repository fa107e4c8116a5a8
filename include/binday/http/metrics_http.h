/* metrics_http.h - GET /metrics: the metrics registry (util/metrics.h) and the
 * process's own figures (process_* names) in the Prometheus text exposition
 * format 0.0.4, as an h2o handler that any host configuration can mount.
 *
 * binday serve mounts it on the --admin-listen listener only, never on the
 * public (Alexa) listener; a staff listener may mount it on its own host. */
#ifndef BINDAY_METRICS_HTTP_H
#define BINDAY_METRICS_HTTP_H

#include <h2o.h>

#include "binday/util/strbuf.h"

/* Register GET/HEAD /metrics on `hostconf` (other methods: 405). */
void metrics_mount(h2o_hostconf_t *hostconf);

/* The whole scrape (registry and process_* metrics), appended to out. */
void metrics_http_render(strbuf_t *out);

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
