package io.loragate.examples;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.loragate.api.grpc.v1.ClassificationItem;
import io.loragate.api.grpc.v1.ClassifyRequest;
import io.loragate.api.grpc.v1.ClassifyResponse;
import io.loragate.api.grpc.v1.InferenceServiceGrpc;
import io.loragate.api.grpc.v1.ListModelsRequest;
import io.loragate.api.grpc.v1.Model;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Java gRPC client of loragate on the stubs the build generates from proto/ (grpc-java's blocking
 * stub): lists the models, then classifies each text with an adapter. Run it with
 * {@code examples/java/grpc-client.sh [--target HOST:PORT] [--adapter NAME] TEXT...}.
 */
public final class GrpcClient {

    public static void main(String[] args) throws InterruptedException {
        String target = "localhost:8080";
        String adapter = "tickets";
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--target" -> target = args[++i];
                case "--adapter" -> adapter = args[++i];
                default -> texts.add(args[i]);
            }
        }
        if (texts.isEmpty()) {
            texts.add("I was charged twice this month.");
        }
        // gRPC shares the HTTP port, in plaintext (h2c) unless the gateway is configured with TLS.
        ManagedChannel channel = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
        try {
            InferenceServiceGrpc.InferenceServiceBlockingStub inference = InferenceServiceGrpc.newBlockingStub(channel);
            String key = System.getenv("LORAGATE_API_KEY"); // only needed with authentication on
            if (key != null && !key.isEmpty()) {
                Metadata headers = new Metadata();
                headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + key);
                inference = inference.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
            }
            List<String> models = new ArrayList<>();
            for (Model m : inference.withDeadlineAfter(30, TimeUnit.SECONDS).listModels(ListModelsRequest.getDefaultInstance())
                    .getModelsList()) {
                models.add(m.getId());
            }
            System.out.println("models: " + models);
            ClassifyResponse r = inference.withDeadlineAfter(60, TimeUnit.SECONDS)
                    .classify(ClassifyRequest.newBuilder().setAdapterId(adapter).addAllInputs(texts).build());
            for (ClassificationItem item : r.getItemsList()) {
                System.out.printf("%s\t%s\t%.2f\t%s%n", r.getModel(), item.getLabel(), item.getScoresMap().get(item.getLabel()),
                        texts.get(item.getIndex()));
            }
        } catch (StatusRuntimeException e) {
            // the gateway's status carries a readable description (e.g. NOT_FOUND: adapter 'x' not found)
            System.err.println(e.getStatus().getCode() + ": " + e.getStatus().getDescription());
            System.exit(1);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
