package io.loragate.common;

import java.time.Duration;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * The S3 client of a store: credentials from the standard AWS chain (environment
 * {@code AWS_ACCESS_KEY_ID} / {@code AWS_SECRET_ACCESS_KEY}, system properties, profile, web identity,
 * container and instance roles), the JDK's HTTP client, short connection timeouts so that a store that
 * is down fails a request quickly, and checksums only where S3 requires them (the SHA-256 of each blob
 * is ours; S3-compatible stores do not all accept the SDK's newer checksum headers), and no
 * {@code aws-chunked} bodies (some stores, s3rver among them, would keep the chunk framing as content).
 */
final class S3Clients {

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

    private S3Clients() {
    }

    static S3Client create(S3Settings settings) {
        return builder(settings).build();
    }

    static S3ClientBuilder builder(S3Settings settings) {
        S3ClientBuilder b = S3Client.builder()
                .httpClientBuilder(UrlConnectionHttpClient.builder().connectionTimeout(CONNECT_TIMEOUT).socketTimeout(READ_TIMEOUT))
                .credentialsProvider(DefaultCredentialsProvider.builder().build())
                .region(region(settings))
                .forcePathStyle(settings.pathStyle())
                .serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build())
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        settings.endpoint().ifPresent(b::endpointOverride);
        return b;
    }

    private static Region region(S3Settings settings) {
        if (settings.region().isPresent()) {
            return Region.of(settings.region().get());
        }
        try {
            return new DefaultAwsRegionProviderChain().getRegion();
        } catch (RuntimeException none) {
            return Region.US_EAST_1; // what S3-compatible stores accept when no region is configured
        }
    }
}
