package io.loragate.api.rest;

import io.loragate.postgres.PostgresProfiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** {@link FilesResourceTest} (dataset upload, list, get, delete, limits, tenant isolation) with the metadata on PostgreSQL. */
@QuarkusTest
@TestProfile(PostgresProfiles.Datasets.class)
class PostgresFilesResourceTest extends FilesResourceTest {
}
