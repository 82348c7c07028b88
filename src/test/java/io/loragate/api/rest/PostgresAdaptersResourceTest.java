package io.loragate.api.rest;

import io.loragate.postgres.PostgresProfiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** {@link AdaptersResourceTest} (register, versions, activate, delete, pins) with the metadata on PostgreSQL. */
@QuarkusTest
@TestProfile(PostgresProfiles.Registry.class)
class PostgresAdaptersResourceTest extends AdaptersResourceTest {
}
