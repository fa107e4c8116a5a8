/* skill_icons.c - owns the skill's store icons (icons.h): the drawing (a
 * white wheelie bin with a dark lid and wheels on a deep green square, in
 * proportions so that it reads at 108 pixels) and the /static/ route that
 * serves them on the public listener, where the manifest's smallIconUri and
 * largeIconUri point.
 *
 * Drawn rather than committed: no binary files in the tree, the same bytes
 * from every build (png.h is deterministic), and a size change is one number.
 */
#include "binday/skill/icons.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/log.h"
#include "binday/util/png.h"
#include "binday/util/xalloc.h"

typedef struct rgb {
    uint8_t r, g, b;
} rgb_t;

static const rgb_t BG = {0x1B, 0x5E, 0x20}, BIN = {0xFF, 0xFF, 0xFF}, DARK = {0x21, 0x21, 0x21};

/* Is the pixel centre (u, v) in [0,1]^2 inside the shape? Coordinates are
 * fractions of the side, so every size draws the same picture. */
static int in_rect(double u, double v, double x0, double y0, double x1, double y1)
{
    return u >= x0 && u < x1 && v >= y0 && v < y1;
}

static int in_circle(double u, double v, double cx, double cy, double r)
{
    return (u - cx) * (u - cx) + (v - cy) * (v - cy) < r * r;
}

static rgb_t pixel(double u, double v)
{
    /* wheels first: they overlap the body's lower corners */
    if (in_circle(u, v, 0.36, 0.82, 0.065) || in_circle(u, v, 0.64, 0.82, 0.065))
        return DARK;
    /* the lid and its handle */
    if (in_rect(u, v, 0.25, 0.20, 0.75, 0.28) || in_rect(u, v, 0.42, 0.15, 0.58, 0.20))
        return DARK;
    /* the body narrows a little towards the bottom, as wheelie bins do */
    double inset = 0.05 * (v - 0.28) / 0.52;
    if (in_rect(u, v, 0.28 + inset, 0.28, 0.72 - inset, 0.80)) {
        /* three vertical grooves */
        for (int i = 0; i < 3; i++) {
            double gx = 0.40 + 0.10 * i;
            if (in_rect(u, v, gx - 0.012, 0.38, gx + 0.012, 0.70))
                return BG;
        }
        return BIN;
    }
    return BG;
}

static uint8_t *draw(unsigned size, size_t *len)
{
    uint8_t *rgb = xmalloc((size_t)size * size * 3);
    for (unsigned y = 0; y < size; y++)
        for (unsigned x = 0; x < size; x++) {
            rgb_t c = pixel((x + 0.5) / size, (y + 0.5) / size);
            uint8_t *p = rgb + ((size_t)y * size + x) * 3;
            p[0] = c.r;
            p[1] = c.g;
            p[2] = c.b;
        }
    uint8_t *png = png_encode_rgb(rgb, size, size, len);
    free(rgb);
    return png;
}

static struct {
    pthread_once_t once;
    uint8_t *small, *large;
    size_t small_len, large_len;
} G = {PTHREAD_ONCE_INIT, NULL, NULL, 0, 0};

static void build(void)
{
    G.small = draw(SKILL_ICON_SMALL, &G.small_len);
    G.large = draw(SKILL_ICON_LARGE, &G.large_len);
}

const uint8_t *skill_icon_png(unsigned size, size_t *len)
{
    pthread_once(&G.once, build);
    if (size == SKILL_ICON_SMALL) {
        *len = G.small_len;
        return G.small;
    }
    if (size == SKILL_ICON_LARGE) {
        *len = G.large_len;
        return G.large;
    }
    return NULL;
}

int skill_icons_handle(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    static const struct {
        const char *path;
        unsigned size;
    } icons[] = {{SKILL_ICON_PREFIX SKILL_ICON_SMALL_NAME, SKILL_ICON_SMALL},
                 {SKILL_ICON_PREFIX SKILL_ICON_LARGE_NAME, SKILL_ICON_LARGE}};
    for (size_t i = 0; i < sizeof(icons) / sizeof(icons[0]); i++) {
        size_t n = strlen(icons[i].path);
        if (req->path_normalized.len == n && memcmp(req->path_normalized.base, icons[i].path, n) == 0) {
            size_t len;
            const uint8_t *png = skill_icon_png(icons[i].size, &len);
            /* public, and the same bytes until binday itself changes */
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                           H2O_STRLIT("public, max-age=86400"));
            server_send(req, 200, "image/png", png, len);
            return 0;
        }
    }
    server_send_error(req, 404, "not found");
    return 0;
}
