package io.loragate.api.rest;

import java.util.Arrays;
import java.util.List;

/** Token ids as JSON arrays ({@code return_token_ids}), shared by completions and chat completions. */
final class TokenIdArrays {

    private TokenIdArrays() {
    }

    /** {@code ids} in order, as the list a record serialises to a JSON array of integers. */
    static List<Long> list(long[] ids) {
        return Arrays.stream(ids).boxed().toList();
    }
}
