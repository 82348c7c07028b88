package io.loragate.registry;

import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.config.LoragateConfig;
import jakarta.enterprise.context.ApplicationScoped;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * This process's name among the replicas on one database ({@code loragate.replica-id}): what the
 * jobs it runs record as their owner. By default host name, process id and a random suffix, so two
 * processes never share one, even on one host after a pid is reused.
 */
@ApplicationScoped
public class ReplicaIdentity {

    /** Safe in a log line and an event message; at most the owner column's 200 characters. */
    static final Pattern ID = Pattern.compile("[A-Za-z0-9._:@-]{1,200}");

    private final String id;

    @jakarta.inject.Inject
    public ReplicaIdentity(LoragateConfig config) {
        this(config.replicaId().orElse(null));
    }

    /** {@code configured}, checked, or a fresh default when null. */
    public ReplicaIdentity(String configured) {
        if (configured == null) {
            this.id = generated();
        } else if (ID.matcher(configured).matches()) {
            this.id = configured;
        } else {
            throw new LoragateException(Kind.INVALID_ARGUMENT, "loragate.replica-id must be 1 to 200 characters of letters,"
                    + " digits and . _ : @ -");
        }
    }

    public String id() {
        return id;
    }

    private static String generated() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "localhost";
        }
        host = host.replaceAll("[^A-Za-z0-9.-]", "-");
        if (host.isEmpty() || host.length() > 150) {
            host = host.isEmpty() ? "localhost" : host.substring(0, 150);
        }
        byte[] b = new byte[4];
        new SecureRandom().nextBytes(b);
        return host + "-" + ProcessHandle.current().pid() + "-" + HexFormat.of().formatHex(b);
    }

    @Override
    public String toString() {
        return id;
    }
}
