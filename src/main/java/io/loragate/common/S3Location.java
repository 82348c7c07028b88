package io.loragate.common;

import java.util.regex.Pattern;

/**
 * Where an S3 store keeps its blobs: {@code s3://<bucket>/<prefix>} (the prefix may be empty). The
 * blob {@code a/b} is the object {@code <prefix>/a/b}.
 */
public record S3Location(String bucket, String prefix) {

    /** S3's rules for bucket names: 3 to 63 of a-z, 0-9, '.', '-', starting and ending with a letter or digit. */
    private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}");

    /** Parses {@code s3://bucket[/prefix]}; anything else is refused, naming the URL. */
    public static S3Location parse(String url) {
        if (url == null || !url.startsWith("s3://")) {
            throw new IllegalArgumentException("loragate.store.url: '" + url + "' is not s3://<bucket>/<prefix>");
        }
        String rest = url.substring("s3://".length());
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1);
        if (prefix.endsWith("/")) {
            prefix = prefix.substring(0, prefix.length() - 1);
        }
        if (!BUCKET.matcher(bucket).matches()) {
            throw new IllegalArgumentException("loragate.store.url: '" + bucket + "' in '" + url + "' is not a bucket name"
                    + " (3 to 63 of a-z, 0-9, '.', '-')");
        }
        for (String s : prefix.isEmpty() ? new String[0] : prefix.split("/", -1)) {
            if (!SEGMENT.matcher(s).matches()) {
                throw new IllegalArgumentException("loragate.store.url: the prefix '" + prefix + "' in '" + url
                        + "' must be '/'-separated plain segments (letters, digits, '.', '_', '-', not starting with a dot)");
            }
        }
        return new S3Location(bucket, prefix);
    }

    /** The object key of the blob {@code key}. */
    String object(String key) {
        return prefix.isEmpty() ? key : prefix + "/" + key;
    }

    /** The blob key of an object under the prefix. */
    String blob(String object) {
        return prefix.isEmpty() ? object : object.substring(prefix.length() + 1);
    }

    @Override
    public String toString() {
        return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
    }
}
