package io.loragate.adapter;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;
import io.loragate.model.AdapterHook;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * PEFT's {@code PromptTuningConfig}: {@code num_virtual_tokens} (1..{@value AdapterHook#MAX_VIRTUAL_TOKENS}),
 * {@code token_dim}, {@code num_transformer_submodules} (1 only: encoder-decoder models are not
 * served), {@code prompt_tuning_init} ({@code RANDOM}, {@code TEXT}, {@code SAMPLE_VOCAB}),
 * {@code prompt_tuning_init_text}, {@code tokenizer_name_or_path}, {@code modules_to_save}. The
 * prompt keys stay in the extras; the config selects no modules.
 */
final class PromptTuningSection implements PeftSection {

    static final PromptTuningSection INSTANCE = new PromptTuningSection();

    /** Keys of a prompt-tuning config held by the record's components rather than its extras. */
    private static final Set<String> MODELLED = Set.of("peft_type", "task_type", "base_model_name_or_path", "modules_to_save");

    private PromptTuningSection() {
    }

    @Override
    public String peftType() {
        return PeftConfig.PROMPT_TUNING;
    }

    @Override
    public PeftConfig parse(PeftConfigReader in) {
        Path file = in.file();
        int k = in.positiveInt(PeftConfig.NUM_VIRTUAL_TOKENS, -1);
        if (k < 0) {
            throw new ModelFormatException(file, "field '" + PeftConfig.NUM_VIRTUAL_TOKENS + "' is missing");
        }
        if (k > AdapterHook.MAX_VIRTUAL_TOKENS) {
            throw new ModelFormatException(file, "field '" + PeftConfig.NUM_VIRTUAL_TOKENS + "' is " + k + "; at most "
                    + AdapterHook.MAX_VIRTUAL_TOKENS + " virtual tokens are supported");
        }
        in.positiveInt(PeftConfig.TOKEN_DIM, 1);
        in.positiveInt(PeftConfig.NUM_ATTENTION_HEADS, 1);
        in.positiveInt(PeftConfig.NUM_LAYERS, 1);
        int submodules = in.positiveInt(PeftConfig.NUM_TRANSFORMER_SUBMODULES, 1);
        if (submodules != 1) {
            throw new LoragateException(LoragateException.Kind.UNIMPLEMENTED, file + ": field '"
                    + PeftConfig.NUM_TRANSFORMER_SUBMODULES + "' is " + submodules
                    + "; only 1 (decoder-only or encoder-only models) is supported");
        }
        String init = in.string(PeftConfig.PROMPT_TUNING_INIT, "RANDOM");
        if (!PeftConfig.PROMPT_INITS.contains(init)) {
            throw new ModelFormatException(file, "field '" + PeftConfig.PROMPT_TUNING_INIT + "' must be one of "
                    + PeftConfig.PROMPT_INITS + ", got " + PeftConfig.quote(init));
        }
        in.string(PeftConfig.PROMPT_TUNING_INIT_TEXT, null);
        in.string(PeftConfig.TOKENIZER_NAME_OR_PATH, null);
        in.bool("inference_mode", true);
        List<String> modulesToSave = in.modulesToSave();
        return new PeftConfig(this, in.string("task_type", null), in.string("base_model_name_or_path", null),
                PeftConfig.Modules.NONE, PeftConfig.Modules.NONE, List.of(), List.of(), false, modulesToSave,
                in.extrasExcept(MODELLED));
    }

    /** A prompt-tuning config as PEFT writes it: its own keys and the extras, no LoRA keys. */
    @Override
    public ObjectNode write(PeftConfig c) {
        ObjectNode o = PeftConfig.commonJson(c);
        c.extras().forEach((k, v) -> o.set(k, v.deepCopy()));
        return o;
    }
}
