package io.loragate.config;

import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverPropertyInfo;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Properties;
import java.util.logging.Logger;

/**
 * The JDBC driver of the metadata datasource: H2 or PostgreSQL, chosen by the URL at run time.
 * Quarkus fixes a datasource's driver at build time ({@code db-kind}); this driver is what is fixed
 * ({@code db-kind=other}), and it hands each connection to the real driver that the URL names, so
 * one jar runs on the embedded H2 default or on a shared PostgreSQL (docs/postgresql.md).
 */
public final class UrlDriver implements Driver {

    static final String H2_PREFIX = "jdbc:h2:";
    static final String POSTGRES_PREFIX = "jdbc:postgresql:";

    private static final Driver H2 = new org.h2.Driver();
    private static final Driver POSTGRES = new org.postgresql.Driver();

    /** The real driver for {@code url}, or SQLException naming what is supported. */
    static Driver driverFor(String url) throws SQLException {
        if (url != null && url.startsWith(H2_PREFIX)) {
            return H2;
        }
        if (url != null && url.startsWith(POSTGRES_PREFIX)) {
            return POSTGRES;
        }
        // only the scheme: the rest of a URL may carry a password
        throw new SQLException("unsupported metadata database URL '" + scheme(url) + "...' (quarkus.datasource.jdbc.url):"
                + " loragate supports " + H2_PREFIX + " (the embedded default) and " + POSTGRES_PREFIX, "08001");
    }

    private static String scheme(String url) {
        if (url == null) {
            return "null";
        }
        int second = url.indexOf(':', url.indexOf(':') + 1);
        return second < 0 ? url.substring(0, Math.min(url.length(), 16)) : url.substring(0, second + 1);
    }

    @Override
    public Connection connect(String url, Properties info) throws SQLException {
        return driverFor(url).connect(url, info);
    }

    /**
     * Any URL: the pool then calls {@link #connect}, whose error names what is supported, instead of
     * warning with the whole URL (which may carry a password).
     */
    @Override
    public boolean acceptsURL(String url) {
        return true;
    }

    @Override
    public DriverPropertyInfo[] getPropertyInfo(String url, Properties info) throws SQLException {
        return driverFor(url).getPropertyInfo(url, info);
    }

    @Override
    public int getMajorVersion() {
        return 1;
    }

    @Override
    public int getMinorVersion() {
        return 0;
    }

    @Override
    public boolean jdbcCompliant() {
        return false;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException();
    }
}
