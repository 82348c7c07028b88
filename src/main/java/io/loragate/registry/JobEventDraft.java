package io.loragate.registry;

import java.time.Instant;

/**
 * A job event made by a running job and not yet written: the runner collects a few steps' events
 * and {@link JobStore#recordSteps writes} them together, each with the time it was made.
 *
 * @param created  when the event happened (not when it was written)
 * @param level    info, warn or error
 * @param type     message or metrics
 * @param message  the text
 * @param dataJson its data (null: none)
 */
public record JobEventDraft(Instant created, String level, String type, String message, String dataJson) {
}
