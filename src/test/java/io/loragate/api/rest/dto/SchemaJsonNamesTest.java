package io.loragate.api.rest.dto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.junit.jupiter.api.Test;

/**
 * The REST resources answer these records as they are, so the JSON Jackson writes for each record
 * must carry the names, in the order, that the OpenAPI document shows for it: a component's
 * {@code @Schema(name)} (its snake_case name) or else its own name.
 */
class SchemaJsonNamesTest {

    private static final List<Class<?>> GROUPS = List.of(AdapterSchemas.class, AdvisorSchemas.class, ChatSchemas.class,
            CommonSchemas.class, CompletionSchemas.class, EmbeddingSchemas.class, ErrorSchemas.class, FileSchemas.class,
            JobSchemas.class, ReportSchemas.class, TenantSchemas.class);

    private final ObjectMapper json = new ObjectMapper();

    @Test
    void everyRecordSerialisesUnderItsDocumentedNames() {
        int records = 0;
        for (Class<?> group : GROUPS) {
            for (Class<?> type : group.getDeclaredClasses()) {
                if (!type.isRecord()) {
                    continue;
                }
                records++;
                assertEquals(documented(type), written(type), type.getName());
            }
        }
        assertTrue(records > 60, "records found: " + records);
    }

    @Test
    void aNamedFieldIsWrittenSnakeCase() throws Exception {
        String written = json.writeValueAsString(new CommonSchemas.Usage(3, 4, 7));
        assertEquals("{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}", written);
    }

    @Test
    void fieldsThatDoNotApplyAreLeftOutAndOthersStayNull() throws Exception {
        assertEquals("{\"prompt_tokens\":3,\"total_tokens\":3}", json.writeValueAsString(new CommonSchemas.Usage(3, null, 3)));
        assertEquals("{\"index\":0,\"text\":\"a\",\"logprobs\":null,\"finish_reason\":null}",
                json.writeValueAsString(new CompletionSchemas.CompletionChoice(0, "a", null, null, null, null)));
    }

    private static List<String> documented(Class<?> type) {
        List<String> names = new ArrayList<>();
        for (RecordComponent c : type.getRecordComponents()) {
            Schema s = c.getAnnotation(Schema.class);
            if (s == null) {
                s = c.getAccessor().getAnnotation(Schema.class);
            }
            names.add(s != null && !s.name().isEmpty() ? s.name() : c.getName());
        }
        return names;
    }

    private List<String> written(Class<?> type) {
        List<String> names = new ArrayList<>();
        for (BeanPropertyDefinition p : json.getSerializationConfig().introspect(json.constructType(type)).findProperties()) {
            names.add(p.getName());
        }
        return names;
    }
}
