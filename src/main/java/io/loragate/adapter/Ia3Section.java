package io.loragate.adapter;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.common.ModelFormatException;
import java.nio.file.Path;
import java.util.List;

/**
 * PEFT's {@code IA3Config} ({@code peft_type: IA3}): the module selection in the config's shared
 * components, {@code feedforward_modules} and {@code init_ia3_weights} checked and kept in
 * the extras.
 */
final class Ia3Section implements PeftSection {

    static final Ia3Section INSTANCE = new Ia3Section();

    private Ia3Section() {
    }

    @Override
    public String peftType() {
        return PeftConfig.IA3;
    }

    @Override
    public PeftConfig parse(PeftConfigReader in) {
        Path file = in.file();
        PeftConfig.Modules targets = in.modules("target_modules");
        if (targets == null || targets.isEmpty()) {
            throw new ModelFormatException(file, "field 'target_modules' is missing or empty; name the target modules explicitly");
        }
        PeftConfig.refuseAllLinear(file, targets);
        PeftConfig.Modules ff = in.modules("feedforward_modules");
        if (ff != null && !ff.isRegex() && !targets.isRegex() && !targets.names().containsAll(ff.names())) {
            throw new ModelFormatException(file, "field 'feedforward_modules' " + PeftConfig.quote(ff.names())
                    + " must be a subset of target_modules " + PeftConfig.quote(targets.names()));
        }
        in.bool("init_ia3_weights", true);
        PeftConfig.Modules exclude = in.modules("exclude_modules");
        List<String> modulesToSave = in.modulesToSave();
        List<String> layersPattern = in.layersPattern();
        return new PeftConfig(this, in.string("task_type", null), in.string("base_model_name_or_path", null), targets,
                exclude == null ? PeftConfig.Modules.NONE : exclude, in.intOrIntList("layers_to_transform"), layersPattern,
                in.bool("fan_in_fan_out", false), modulesToSave, in.extrasExcept(PeftConfig.SHARED_KEYS));
    }

    @Override
    public ObjectNode write(PeftConfig c) {
        ObjectNode o = PeftConfig.commonJson(c);
        o.set("target_modules", c.targetModules().toJson());
        o.set("exclude_modules", c.excludeModules().isEmpty() ? JsonNodeFactory.instance.nullNode() : c.excludeModules().toJson());
        o.put("fan_in_fan_out", c.fanInFanOut());
        o.set("layers_pattern", PeftConfig.layersPatternJson(c.layersPattern()));
        o.set("layers_to_transform", PeftConfig.layersToTransformJson(c.layersToTransform()));
        c.extras().forEach((k, v) -> o.set(k, v.deepCopy()));
        return o;
    }
}
