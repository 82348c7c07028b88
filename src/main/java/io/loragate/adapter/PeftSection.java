package io.loragate.adapter;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The keys of one {@code peft_type} in {@code adapter_config.json}: how they are read (checked,
 * unknown keys kept as extras) and written back the way PEFT writes them. Every
 * {@link AdapterMethod} names its section; methods of one type share it. A parsed
 * {@link PeftConfig} holds the section of its type ({@link PeftConfig#section()}), which writes it
 * back: LoRA's ({@link LoraSection}) carries its keys' values, the others keep theirs in the extras.
 */
public interface PeftSection {

    /** The {@code peft_type} this section reads, e.g. {@code LORA}. */
    String peftType();

    /** The whole config of a file whose {@code peft_type} is this section's. */
    PeftConfig parse(PeftConfigReader in);

    /** The config's keys as PEFT writes them, the extras included (in any order: the caller sorts them). */
    ObjectNode write(PeftConfig config);
}
