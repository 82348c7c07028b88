package io.loragate.training.trainer;

import java.util.Locale;

/**
 * Learning rate per optimizer step, as Hugging Face's schedulers compute it
 * ({@code get_linear_schedule_with_warmup}, {@code get_cosine_schedule_with_warmup},
 * {@code get_constant_schedule_with_warmup}): step {@code s} (0-based) uses
 * {@code peak · factor(s)} with a linear warmup {@code s / warmup} over the first {@code warmup}
 * steps (so the very first step of a warmup has rate 0, as in Transformers), then the decay.
 */
public record LrSchedule(Kind kind, double peak, int warmupSteps, int totalSteps) {

    /** How the rate decays after warmup. */
    public enum Kind {
        /** Linearly to 0 at the last step. */
        LINEAR,
        /** Half a cosine to 0 at the last step. */
        COSINE,
        /** Stays at the peak. */
        CONSTANT;

        public static Kind parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown learning-rate schedule '" + s + "' (linear, cosine, constant)");
            }
        }
    }

    public LrSchedule {
        if (!(peak >= 0) || warmupSteps < 0 || totalSteps < 1) {
            throw new IllegalArgumentException("schedule needs lr ≥ 0, warmup ≥ 0, total ≥ 1; got lr=" + peak
                    + " warmup=" + warmupSteps + " total=" + totalSteps);
        }
    }

    /** The rate of optimizer step {@code step} (0-based). */
    public double lr(long step) {
        if (step < warmupSteps) {
            return peak * step / Math.max(1, warmupSteps);
        }
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return switch (kind) {
            case CONSTANT -> peak;
            case LINEAR -> peak * Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> peak * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
        };
    }
}
