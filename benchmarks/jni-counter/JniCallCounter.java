import java.lang.instrument.Instrumentation;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.AsmVisitorWrapper;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;
import net.bytebuddy.matcher.ElementMatchers;

/**
 * A Java agent that counts calls into DJL's PyTorch native library: before every call site of a
 * {@code ai.djl.pytorch.jni.PyTorchLibrary} method in DJL's PyTorch classes it inserts a count by
 * native method name. Benchmarks read the counts by reflection ({@link #snapshot}) to report
 * engine (JNI) calls per decode step. Used only by benchmarks/decode-calls.sh.
 */
public final class JniCallCounter {

    private static final Map<String, LongAdder> COUNTS = new ConcurrentHashMap<>();
    private static final String LIBRARY = "ai/djl/pytorch/jni/PyTorchLibrary";

    private JniCallCounter() {
    }

    /** Called from the instrumented call sites. */
    public static void hit(String method) {
        COUNTS.computeIfAbsent(method, k -> new LongAdder()).increment();
    }

    /** Calls so far, by native method name. */
    public static Map<String, Long> snapshot() {
        Map<String, Long> out = new TreeMap<>();
        COUNTS.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    public static void premain(String args, Instrumentation inst) {
        new AgentBuilder.Default()
                .with(AgentBuilder.TypeStrategy.Default.DECORATE)
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .with(AgentBuilder.Listener.StreamWriting.toSystemError().withErrorsOnly())
                .type(ElementMatchers.nameStartsWith("ai.djl.pytorch.").and(ElementMatchers.not(ElementMatchers.named("ai.djl.pytorch.jni.PyTorchLibrary"))))
                .transform((builder, type, loader, module, domain) -> builder.visit(
                        new AsmVisitorWrapper.ForDeclaredMethods().invokable(ElementMatchers.any(),
                                (instrumentedType, method, visitor, context, pool, flags, readerFlags) -> new MethodVisitor(Opcodes.ASM9, visitor) {
                                    @Override
                                    public void visitMethodInsn(int opcode, String owner, String name, String descriptor, boolean itf) {
                                        if (owner.equals(LIBRARY) && opcode == Opcodes.INVOKEVIRTUAL) {
                                            super.visitLdcInsn(name);
                                            super.visitMethodInsn(Opcodes.INVOKESTATIC, "JniCallCounter", "hit", "(Ljava/lang/String;)V", false);
                                        }
                                        super.visitMethodInsn(opcode, owner, name, descriptor, itf);
                                    }

                                    @Override
                                    public void visitMaxs(int maxStack, int maxLocals) {
                                        super.visitMaxs(maxStack + 1, maxLocals);
                                    }
                                })))
                .installOn(inst);
    }
}
