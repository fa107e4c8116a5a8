/* icons.h - the skill's store icons (a white wheelie bin on green), drawn
 * and PNG-encoded by binday itself (skill_icons.c, util/png.h), served at
 * the paths the manifest names and written by `binday skill-package`.
 * Deterministic: every build and every process produce the same bytes.
 */
#ifndef BINDAY_SKILL_ICONS_H
#define BINDAY_SKILL_ICONS_H

#include <stddef.h>
#include <stdint.h>

#include "binday/http/server.h"

/* Amazon's sizes: small 108 x 108, large 512 x 512 pixels. */
#define SKILL_ICON_SMALL 108
#define SKILL_ICON_LARGE 512
#define SKILL_ICON_PREFIX "/static/"
#define SKILL_ICON_SMALL_NAME "skill-icon-108.png"
#define SKILL_ICON_LARGE_NAME "skill-icon-512.png"

/* The PNG of one size (SKILL_ICON_SMALL or SKILL_ICON_LARGE; NULL for any
 * other): built once per process (thread-safe), static afterwards. */
const uint8_t *skill_icon_png(unsigned size, size_t *len);

/* Route handler for GET/HEAD /static/...: the two icons, else 404. */
int skill_icons_handle(server_thread_t *t, h2o_req_t *req);

#endif
