package io.loragate.api.rest;

import com.fasterxml.jackson.databind.node.ArrayNode;

/** Token ids as JSON arrays ({@code return_token_ids}), shared by completions and chat completions. */
final class TokenIdArrays {

    private TokenIdArrays() {
    }

    /** Appends {@code ids} to {@code array}, in order. */
    static void addAll(ArrayNode array, long[] ids) {
        for (long id : ids) {
            array.add(id);
        }
    }
}
