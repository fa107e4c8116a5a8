/* fuzz_envelope.c - libFuzzer target for the pre-trust envelope parse and the
 * timestamp parser: never crashes or leaks; an accepted envelope has a
 * non-empty request.type that matches the tree; timestamps round-trip into
 * the window check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/alexa/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t ms;
    if (envelope_parse_timestamp(data, size, &ms) == 0 && ms < 0)
        abort();
    envelope_t env;
    verify_status_t st = envelope_parse(data, size, &env);
    if (st != VERIFY_OK) {
        if (env.root != NULL)
            abort();
        return 0;
    }
    if (env.type == NULL || env.type_len == 0 || strlen(env.type) != env.type_len)
        abort();
    const char *t = json_string_value(json_object_get(json_object_get(env.root, "request"), "type"));
    if (t != env.type)
        abort();
    if (env.timestamp != NULL &&
        envelope_parse_timestamp((const uint8_t *)env.timestamp, env.timestamp_len, &ms) == 0) {
        if (envelope_check_window(env.type, env.type_len, ms, ms) != VERIFY_OK)
            abort();
        (void)envelope_check_window(env.type, env.type_len, ms, ms + 3600001);
    }
    const char *ids[] = {"amzn1.ask.skill.x"};
    (void)envelope_app_id_allowed(env.app_id, env.app_id_len, ids, 1);
    json_decref(env.root);
    return 0;
}
