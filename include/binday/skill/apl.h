/* apl.h - the skill's Echo Show visual (skill_apl.c): the APL document the
 * skill sends inline in Alexa.Presentation.APL.RenderDocument, and the
 * colours it gives bins. The document is the skill package's
 * response/display/BinDayCollections/document.json, compiled in, so that
 * `binday skill-package` writes the same bytes the server sends.
 */
#ifndef BINDAY_SKILL_APL_H
#define BINDAY_SKILL_APL_H

#include <stddef.h>

/* The directive's token (a presentation id; no personal data). */
#define SKILL_APL_TOKEN "binday-collections"
/* Name of the document in the skill package (response/display/NAME/). */
#define SKILL_APL_DOCUMENT_NAME "BinDayCollections"

/* The document's JSON text: static bytes, *len of them (not NUL-counted). */
const char *skill_apl_document(size_t *len);

/* A lower-case colour name ("green", "food caddy") as a swatch colour and
 * the ink colour readable on it ("#RRGGBB", static strings). */
void skill_apl_swatch(const char *colour, const char **swatch, const char **ink);

#endif
