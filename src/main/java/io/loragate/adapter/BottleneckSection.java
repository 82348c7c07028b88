package io.loragate.adapter;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.common.ModelFormatException;
import java.nio.file.Path;
import java.util.List;

/**
 * loragate's own {@code peft_type: LORAGATE_BOTTLENECK} (PEFT has none): {@code bottleneck_size},
 * {@code placement} and {@code activation}, checked and kept in the extras, plus
 * {@code layers_to_transform} and {@code modules_to_save}.
 */
final class BottleneckSection implements PeftSection {

    static final BottleneckSection INSTANCE = new BottleneckSection();

    private BottleneckSection() {
    }

    @Override
    public String peftType() {
        return PeftConfig.BOTTLENECK;
    }

    @Override
    public PeftConfig parse(PeftConfigReader in) {
        Path file = in.file();
        int size = in.positiveInt("bottleneck_size", 0);
        if (size == 0) {
            throw new ModelFormatException(file, "field 'bottleneck_size' is missing");
        }
        if (size > PeftConfig.MAX_BOTTLENECK) {
            throw new ModelFormatException(file, "field 'bottleneck_size' is " + size + "; at most " + PeftConfig.MAX_BOTTLENECK);
        }
        String placement = in.string("placement", PeftConfig.PFEIFFER);
        if (!placement.equals(PeftConfig.PFEIFFER) && !placement.equals(PeftConfig.HOULSBY)) {
            throw new ModelFormatException(file, "field 'placement' must be \"pfeiffer\" or \"houlsby\", got "
                    + PeftConfig.quote(placement));
        }
        String activation = in.string("activation", "relu");
        if (!PeftConfig.BOTTLENECK_ACTIVATIONS.contains(activation)) {
            throw new ModelFormatException(file, "field 'activation' must be one of " + PeftConfig.BOTTLENECK_ACTIVATIONS
                    + ", got " + PeftConfig.quote(activation));
        }
        List<String> modulesToSave = in.modulesToSave();
        List<String> layersPattern = in.layersPattern();
        return new PeftConfig(this, in.string("task_type", null), in.string("base_model_name_or_path", null),
                PeftConfig.Modules.NONE, PeftConfig.Modules.NONE, in.intOrIntList("layers_to_transform"), layersPattern,
                in.bool("fan_in_fan_out", false), modulesToSave, in.extrasExcept(PeftConfig.SHARED_KEYS));
    }

    @Override
    public ObjectNode write(PeftConfig c) {
        ObjectNode o = PeftConfig.commonJson(c);
        o.set("layers_to_transform", PeftConfig.layersToTransformJson(c.layersToTransform()));
        c.extras().forEach((k, v) -> o.set(k, v.deepCopy()));
        return o;
    }
}
