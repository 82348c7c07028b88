package io.loragate.api.rest;

import io.loragate.postgres.PostgresProfiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * {@link FineTuningJobsRestTest}'s job life cycle (create, list, train, publish, activate, cancel,
 * tenant isolation) with the metadata on PostgreSQL. Its request-validation and training-quality
 * tests touch no more of the database: left out here, to keep the run short, by overriding them
 * without {@code @Test} (JUnit then does not run them).
 */
@QuarkusTest
@TestProfile(PostgresProfiles.Llama.class)
class PostgresFineTuningJobsRestTest extends FineTuningJobsRestTest {

    @Override
    void examplesLongerThanTheModelsContextAreCutNotFatal() {
    }

    @Override
    void aPartialFineTuningJobTrainsPublishesAndServes() {
    }

    @Override
    void theGateKeepsAWorseAdapterUnpublished() {
    }

    @Override
    void unknownFieldsAreRefusedNamingTheNearestKnownOne() {
    }

    @Override
    void refusesWhatAClientCanFix() {
    }
}
