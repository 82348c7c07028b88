package io.loragate.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** The NOTIFY payload of a change: written and read back; anything else is ignored. */
class ChangeNoticeTest {

    @Test
    void payloadsRoundTrip() {
        assertEquals("tenant:acme:", ChangeNotice.tenant("acme").payload());
        assertEquals("adapter:acme:support", ChangeNotice.adapter("acme", "support").payload());
        assertEquals(ChangeNotice.tenant("acme"), ChangeNotice.parse("tenant:acme:"));
        assertEquals(ChangeNotice.adapter("acme", "support.v-2"), ChangeNotice.parse("adapter:acme:support.v-2"));
    }

    @Test
    void foreignOrMalformedPayloadsAreIgnored() {
        assertNull(ChangeNotice.parse(null));
        assertNull(ChangeNotice.parse(""));
        assertNull(ChangeNotice.parse("hello"));
        assertNull(ChangeNotice.parse("job:acme:x"));
        assertNull(ChangeNotice.parse("adapter:acme:"), "an adapter notice names the adapter");
        assertNull(ChangeNotice.parse("tenant::"), "every notice names a tenant");
        assertNull(ChangeNotice.parse("tenant:a:b:c"));
    }
}
