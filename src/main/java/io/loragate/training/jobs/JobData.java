package io.loragate.training.jobs;

import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.model.InputPooling;
import io.loragate.model.InputWindows;
import io.loragate.model.TextTokenizer;
import io.loragate.registry.JobRecord;
import io.loragate.runtime.ChatTemplate;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.data.CausalExamples;
import io.loragate.training.data.ClassificationExample;
import io.loragate.training.data.DatasetExample;
import io.loragate.training.data.Datasets;
import io.loragate.training.data.TrainingExample;
import io.loragate.training.trainer.CausalLmTrainer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A job's examples, read from its files and split: the training set and the validation set (the
 * validation file, or a seeded held-out share of the training file). Causal jobs get tokenized
 * {@link TrainingExample}s; classification jobs the labelled texts.
 */
final class JobData {

    final List<TrainingExample> train;
    final List<TrainingExample> validation;
    /** The slice of each of {@link #validation} (null entries: no slice). */
    final List<String> validationSlices;
    final List<DatasetExample.Labeled> trainLabeled;
    final List<DatasetExample.Labeled> validationLabeled;
    /** Classification: the tokenized {@link #trainLabeled} and {@link #validationLabeled} (full length under sliding_window). */
    final List<ClassificationExample> trainTokens;
    final List<ClassificationExample> validationTokens;
    /** How a classification example longer than the window is read. */
    final InputWindows.Policy inputs;
    /** Classification under sliding_window: examples read in more than one window. */
    final int windowed;
    final int dropped;
    /**
     * Examples that lost tokens: longer than {@link #maxLength} (trained on their first tokens), or
     * under sliding_window needing more than {@code loragate.limits.max-windows-per-input} windows.
     */
    final int cut;
    /**
     * The length examples are cut to: {@code max_seq_length}, or the model's context where that is
     * shorter; under sliding_window, the window (the model's positions less virtual tokens).
     */
    final int maxLength;
    final boolean heldOut;

    private JobData(List<TrainingExample> train, List<TrainingExample> validation, List<String> validationSlices,
            List<DatasetExample.Labeled> trainLabeled, List<DatasetExample.Labeled> validationLabeled, int dropped, int cut,
            int maxLength, boolean heldOut) {
        this(train, validation, validationSlices, trainLabeled, validationLabeled, List.of(), List.of(), InputWindows.Policy.TRUNCATE,
                0, dropped, cut, maxLength, heldOut);
    }

    private JobData(List<TrainingExample> train, List<TrainingExample> validation, List<String> validationSlices,
            List<DatasetExample.Labeled> trainLabeled, List<DatasetExample.Labeled> validationLabeled,
            List<ClassificationExample> trainTokens, List<ClassificationExample> validationTokens, InputWindows.Policy inputs,
            int windowed, int dropped, int cut, int maxLength, boolean heldOut) {
        this.trainTokens = trainTokens;
        this.validationTokens = validationTokens;
        this.inputs = inputs;
        this.windowed = windowed;
        this.train = train;
        this.validation = validation;
        this.validationSlices = validationSlices;
        this.trainLabeled = trainLabeled;
        this.validationLabeled = validationLabeled;
        this.dropped = dropped;
        this.cut = cut;
        this.maxLength = maxLength;
        this.heldOut = heldOut;
    }

    static JobData load(JobRecord job, JobSpec spec, Datasets datasets, ResidentModel resident) {
        List<DatasetExample> all = datasets.examples(job.tenant(), job.trainingFile());
        List<DatasetExample> val;
        boolean heldOut = job.validationFile() == null;
        if (heldOut) {
            if (all.size() < 2) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "the training file has " + all.size()
                        + " valid example(s); a held-out validation split needs at least 2 (or give a validation_file)");
            }
            List<List<DatasetExample>> parts = split(all, spec.hyperparameters().validationSplit(), job.seed());
            all = parts.get(0);
            val = parts.get(1);
        } else {
            val = datasets.examples(job.tenant(), job.validationFile());
        }
        if (spec.type().equals(JobSpec.CLASSIFICATION)) {
            return classification(labeled(all, "training"), labeled(val, "validation"), spec, datasets, resident, heldOut);
        }
        if (!(resident.model() instanceof io.loragate.model.CausalModel causal)) {
            throw new LoragateException(Kind.FAILED_PRECONDITION, "the base model " + resident.id() + " is an encoder ("
                    + resident.model().config().architectureName() + "); it can train classification jobs only");
        }
        Long eos = causal.config().eosTokenIds().isEmpty() ? null : causal.config().eosTokenIds().iterator().next();
        CausalExamples examples = new CausalExamples(resident.tokenizer(), eos, maxLength(spec, causal));
        ChatTemplate template = resident.chatTemplate();
        int[] dropped = new int[1];
        List<TrainingExample> t = causal(all, examples, template, dropped, null);
        List<String> slices = new ArrayList<>();
        List<TrainingExample> v = causal(val, examples, template, dropped, slices);
        if (t.isEmpty()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "no training example has a token to learn from within"
                    + " their first " + examples.maxLength() + " tokens (max_seq_length or the model's context)");
        }
        if (v.isEmpty()) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "no validation example has a token to evaluate within"
                    + " their first " + examples.maxLength() + " tokens (max_seq_length or the model's context)");
        }
        return new JobData(t, v, slices, List.of(), List.of(), dropped[0], examples.cut(), examples.maxLength(), heldOut);
    }

    /**
     * A classification job's examples, tokenized: under truncate cut to {@link #maxLength(JobSpec,
     * io.loragate.model.BaseModel)}; under sliding_window whole (the trainer windows them), counting
     * those past the window limit as cut.
     */
    private static JobData classification(List<DatasetExample.Labeled> t, List<DatasetExample.Labeled> v, JobSpec spec,
            Datasets datasets, ResidentModel resident, boolean heldOut) {
        TextTokenizer tok = resident.tokenizer();
        InputPooling pooling = spec.hyperparameters().inputPooling();
        if (pooling == InputPooling.TRUNCATE) {
            int max = maxLength(spec, resident.model());
            List<ClassificationExample> train = tokenized(tok, t, Integer.MAX_VALUE);
            List<ClassificationExample> validation = tokenized(tok, v, Integer.MAX_VALUE);
            int cut = (int) java.util.stream.Stream.concat(train.stream(), validation.stream()).filter(e -> e.ids().length > max).count();
            train = fitted(train, max);
            validation = fitted(validation, max);
            return new JobData(List.of(), List.of(), List.of(), t, v, train, validation, InputWindows.Policy.TRUNCATE, 0, 0, cut,
                    max, heldOut);
        }
        if (!(resident.model() instanceof io.loragate.model.EncoderModel)) {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "pooling 'sliding_window' needs an encoder base; "
                    + resident.id() + " is a decoder").withParam("method.hyperparameters.pooling");
        }
        InputWindows.Policy policy = new InputWindows.Policy(pooling, tok.frame(), datasets.maxWindowsPerInput());
        int room = resident.model().config().maxPositions() - virtualTokens(spec);
        List<ClassificationExample> train = tokenized(tok, t, Integer.MAX_VALUE);
        List<ClassificationExample> validation = tokenized(tok, v, Integer.MAX_VALUE);
        int windowed = 0;
        int cut = 0;
        for (ClassificationExample e : java.util.stream.Stream.concat(train.stream(), validation.stream()).toList()) {
            int windows = InputWindows.windowCount(e.ids().length, policy.frame(), room);
            windowed += windows > 1 ? 1 : 0;
            cut += windows > policy.maxWindows() ? 1 : 0;
        }
        return new JobData(List.of(), List.of(), List.of(), t, v, train, validation, policy, windowed, 0, cut, room, heldOut);
    }

    /** Each example cut as {@link ClassificationExample#of} cuts: its first tokens and its last. */
    private static List<ClassificationExample> fitted(List<ClassificationExample> examples, int max) {
        return examples.stream().map(e -> new ClassificationExample(ClassificationExample.fit(e.ids(), max), e.label())).toList();
    }

    private static int virtualTokens(JobSpec spec) {
        return spec.adapter().method().equals(JobSpec.PROMPT_TUNING) ? spec.adapter().numVirtualTokens() : 0;
    }

    private static List<ClassificationExample> tokenized(TextTokenizer tok, List<DatasetExample.Labeled> examples, int maxLength) {
        return examples.stream().map(e -> ClassificationExample.of(tok, e.text(), e.label(), maxLength)).toList();
    }

    /**
     * The length a job's examples are cut to: its {@code max_seq_length}, or the model's context
     * where that is shorter (a longer example would fail the forward; every trainer truncates).
     */
    static int maxLength(JobSpec spec, io.loragate.model.BaseModel model) {
        return Math.min(spec.hyperparameters().maxSeqLength(), model.config().maxPositions());
    }

    String describe() {
        int n = train.isEmpty() ? trainLabeled.size() : train.size();
        int m = validation.isEmpty() ? validationLabeled.size() : validation.size();
        boolean sliding = inputs.pooling() == InputPooling.SLIDING_WINDOW;
        return n + " training and " + m + " validation examples" + (heldOut ? " (held out from the training file)" : "")
                + (dropped > 0 ? "; " + dropped + " example(s) dropped: nothing to learn within max_seq_length" : "")
                + (sliding && windowed > 0 ? "; " + windowed + " example(s) read in sliding windows of " + maxLength + " tokens" : "")
                + (cut > 0 && !sliding ? "; " + cut + " example(s) cut to their first " + maxLength + " tokens" : "")
                + (cut > 0 && sliding ? "; " + cut + " example(s) cut to their first " + inputs.maxWindows()
                        + " windows (loragate.limits.max-windows-per-input)" : "");
    }

    /** The report's {@code inputs} section: the length examples were cut to, the pooling, how many were cut. */
    com.fasterxml.jackson.databind.node.ObjectNode inputsReport() {
        com.fasterxml.jackson.databind.node.ObjectNode n = JobReport.JSON.createObjectNode();
        n.put("max_length", maxLength);
        n.put("pooling", inputs.pooling().wireName());
        n.put("cut", cut);
        if (inputs.pooling() == InputPooling.SLIDING_WINDOW) {
            n.put("windowed", windowed);
            n.put("max_windows", inputs.maxWindows());
        }
        return n;
    }

    /** A seeded split: {@code max(1, round(n·share))} examples (at most n−1) go to validation. */
    static List<List<DatasetExample>> split(List<DatasetExample> all, double share, long seed) {
        int n = all.size();
        int k = (int) Math.min(n - 1, Math.max(1, Math.round(n * share)));
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        SplittableRandom rng = new SplittableRandom(CausalLmTrainer.mix(seed, 0x5b1_17L));
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        boolean[] isVal = new boolean[n];
        for (int i = 0; i < k; i++) {
            isVal[order[i]] = true;
        }
        List<DatasetExample> train = new ArrayList<>();
        List<DatasetExample> val = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            (isVal[i] ? val : train).add(all.get(i));
        }
        return List.of(train, val);
    }

    private static List<DatasetExample.Labeled> labeled(List<DatasetExample> in, String which) {
        List<DatasetExample.Labeled> out = new ArrayList<>();
        for (DatasetExample e : in) {
            if (!(e instanceof DatasetExample.Labeled l)) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "the " + which + " file is not a classification dataset");
            }
            out.add(l);
        }
        return out;
    }

    /** Tokenized examples (those with nothing to learn dropped); {@code slices}, when given, gets each kept one's slice. */
    private static List<TrainingExample> causal(List<DatasetExample> in, CausalExamples examples, ChatTemplate template,
            int[] dropped, List<String> slices) {
        List<TrainingExample> out = new ArrayList<>();
        for (Iterator<DatasetExample> it = in.iterator(); it.hasNext(); ) {
            DatasetExample e = it.next();
            TrainingExample t = examples.of(e, template);
            if (t == null) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "a classification example cannot train a supervised job");
            }
            if (t.targetCount() == 0) {
                dropped[0]++;
            } else {
                out.add(t);
                if (slices != null) {
                    slices.add(e.slice());
                }
            }
        }
        return out;
    }
}
