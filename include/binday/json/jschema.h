/* jschema.h - a small JSON Schema validator for binday's own schemas.
 *
 * Supports the subset our schemas use: type (string or list), properties,
 * required, additionalProperties (boolean or schema), items, enum, const,
 * minimum, maximum, minLength, maxLength (in code points), minItems, maxItems.
 * Unknown keywords are ignored (as JSON Schema says), so keep schemas within
 * the subset if a rule must be enforced.
 */
#ifndef BINDAY_JSCHEMA_H
#define BINDAY_JSCHEMA_H

#include <jansson.h>
#include <stddef.h>

/* Validate doc against schema. Returns 0 when valid; otherwise -1 and writes the
 * first problem to err as "PATH: message", PATH being a JSON Pointer ("/threads",
 * "" for the root). Both arguments are borrowed. */
int jschema_validate(const json_t *schema, const json_t *doc, char *err, size_t err_size);

#endif
