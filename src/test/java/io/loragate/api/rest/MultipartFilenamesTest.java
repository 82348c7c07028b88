package io.loragate.api.rest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The file names of multipart parts as the client sent them, read from the raw body in any chunking. */
class MultipartFilenamesTest {

    static final String TYPE = "multipart/form-data; boundary=\"b0und\"";

    static String body(String disposition) {
        return "preamble\r\n--b0und\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"
                + "--b0und\r\ncontent-disposition: form-data; name=\"file\"; " + disposition + "\r\n\r\n"
                + "--b0und is not a boundary here\r\nContent-Disposition: form-data; name=\"file\"; filename=\"inside.jsonl\"\r\n"
                + "\r\n--b0und--\r\n";
    }

    static String read(String body, int chunk) {
        MultipartFilenames names = new MultipartFilenames(TYPE);
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i += chunk) {
            names.feed(Buffer.buffer().appendBytes(bytes, i, Math.min(chunk, bytes.length - i)));
        }
        return names.filename("file");
    }

    @Test
    void readsQuotedTokenAndExtendedNamesInAnyChunking() {
        for (int chunk : new int[] {1, 2, 7, 1 << 16}) {
            assertEquals("a=b.jsonl", read(body("filename=\"a=b.jsonl\""), chunk));
            assertEquals("x; y, z:1\t.jsonl", read(body("filename=\"x; y, z:1\t.jsonl\""), chunk));
            assertEquals("q\"uote\\d.jsonl", read(body("filename=\"q\\\"uote\\\\d.jsonl\""), chunk));
            assertEquals("C:\\data\\x.jsonl", read(body("filename=\"C:\\data\\x.jsonl\""), chunk), "other backslashes stay");
            assertEquals("token=1.jsonl", read(body("filename=token=1.jsonl"), chunk));
            assertEquals("été 1+1.jsonl", read(body("filename=\"ete.jsonl\"; filename*=UTF-8''%C3%A9t%C3%A9%201+1.jsonl"), chunk));
            assertEquals("été.jsonl", read(body("filename=\"été.jsonl\""), chunk), "raw UTF-8, as browsers send it");
        }
    }

    @Test
    void noFileNameOrNoBoundaryIsNull() {
        assertNull(read(body("x=1"), 3), "a part without a file name");
        MultipartFilenames none = new MultipartFilenames("multipart/form-data");
        none.feed(Buffer.buffer(body("filename=\"a.jsonl\"")));
        assertNull(none.filename("file"));
        assertEquals("fallback.jsonl", read(body("filename=\"fallback.jsonl\"; filename*=nonsense"), 5), "a malformed filename*");
    }
}
