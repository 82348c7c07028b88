package io.loragate.config;

import io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier;
import io.loragate.common.Jdbc;
import io.quarkus.agroal.runtime.AgroalConnectionConfigurer;
import io.quarkus.agroal.runtime.JdbcDriver;
import io.quarkus.arc.Unremovable;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Tells the pool which errors mean "this connection is broken" for {@link UrlDriver}'s datasource
 * ({@code db-kind=other}, for which Quarkus knows none): a connection that failed so is destroyed
 * instead of going back to the pool, so that once the database is back no request gets a connection
 * that died with the old server. The errors are those of {@link Jdbc#unavailable}: SQLSTATE class 08,
 * and PostgreSQL's shutdown states 57P01-57P03.
 */
@ApplicationScoped
@Unremovable // looked up by Quarkus' datasource set-up, never injected
@JdbcDriver("other")
public class UrlDriverConnectionConfigurer implements AgroalConnectionConfigurer {

    @Override
    public void setExceptionSorter(String databaseKind, AgroalDataSourceConfigurationSupplier dataSourceConfiguration) {
        dataSourceConfiguration.connectionPoolConfiguration().exceptionSorter(Jdbc::unavailable);
    }
}
