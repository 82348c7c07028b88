package io.loragate.api.rest;

import io.loragate.postgres.PostgresProfiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * {@link TenantsRestTest}'s database part (keys, rotation, admin-only management, deletion refused
 * while a job is unfinished, adapter/storage/job quotas) with the metadata on PostgreSQL. The
 * request, token and stream limits live in memory, not in the database: their tests are left out
 * here by overriding them without {@code @Test} (JUnit then does not run them).
 */
@QuarkusTest
@TestProfile(PostgresProfiles.Auth.class)
class PostgresTenantsRestTest extends TenantsRestTest {

    @Override
    void theRequestBucketRefusesWithRetryAfterAndHeadersThenRefills() {
    }

    @Override
    void theTokenBucketChargesPromptAndMaxTokens() {
    }

    @Override
    void tokensAGenerationDidNotUseGoBackToTheBucket() {
    }

    @Override
    void aTenantAtItsStreamLimitGets429UntilAStreamCloses() {
    }
}
