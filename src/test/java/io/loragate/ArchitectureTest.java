package io.loragate;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The import arrows of docs/architecture.md: each layer may import only the layers beneath it. */
class ArchitectureTest {

    static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.loragate");
    }

    @Test
    void modelIsPureDjlWithoutQuarkusOrHigherLayers() {
        classes().that().resideInAPackage("io.loragate.model..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("io.loragate.model..", "io.loragate.common..", "java..",
                        "javax..", "ai.djl..", "com.fasterxml.jackson..", "org.slf4j..")
                .check(classes);
    }

    @Test
    void adapterImportsOnlyModel() {
        classes().that().resideInAPackage("io.loragate.adapter..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("io.loragate.adapter..", "io.loragate.model..",
                        "io.loragate.common..", "java..", "javax..", "ai.djl..", "com.fasterxml.jackson..", "org.slf4j..")
                .allowEmptyShould(true)
                .check(classes);
    }

    @Test
    void engineDoesNotReachUpIntoRegistryTrainingOrTransports() {
        noClasses().that().resideInAPackage("io.loragate.engine..")
                .should().dependOnClassesThat().resideInAnyPackage("io.loragate.registry..", "io.loragate.training..",
                        "io.loragate.api..")
                .allowEmptyShould(true)
                .check(classes);
    }

    @Test
    void registryDoesNotReachUpIntoEngineTrainingOrTransports() {
        noClasses().that().resideInAPackage("io.loragate.registry..")
                .should().dependOnClassesThat().resideInAnyPackage("io.loragate.engine..", "io.loragate.training..",
                        "io.loragate.api..")
                .allowEmptyShould(true)
                .check(classes);
    }

    @Test
    void trainingDoesNotUseTheServingEngineOrTransports() {
        noClasses().that().resideInAPackage("io.loragate.training..")
                .should().dependOnClassesThat().resideInAnyPackage("io.loragate.engine..", "io.loragate.api..")
                .allowEmptyShould(true)
                .check(classes);
    }

    /** training's sub-packages stack: data (datasets, examples) ← trainer (the loops) ← jobs (queue, runner, publication). */
    @Test
    void trainingSubPackagesStack() {
        noClasses().that().resideInAPackage("io.loragate.training.data..")
                .should().dependOnClassesThat().resideInAnyPackage("io.loragate.training.trainer..", "io.loragate.training.jobs..")
                .check(classes);
        noClasses().that().resideInAPackage("io.loragate.training.trainer..")
                .should().dependOnClassesThat().resideInAPackage("io.loragate.training.jobs..")
                .check(classes);
    }

    @Test
    void transportsNeverTouchNdArraysOrEachOther() {
        noClasses().that().resideInAPackage("io.loragate.api..")
                .should().dependOnClassesThat().resideInAnyPackage("ai.djl..")
                .allowEmptyShould(true)
                .check(classes);
        noClasses().that().resideInAPackage("io.loragate.api.rest..")
                .should().dependOnClassesThat().resideInAnyPackage("io.loragate.api.grpc..")
                .allowEmptyShould(true)
                .check(classes);
        noClasses().that().resideInAPackage("io.loragate.api.grpc..")
                .should().dependOnClassesThat().resideInAnyPackage("io.loragate.api.rest..")
                .allowEmptyShould(true)
                .check(classes);
    }

    @Test
    void diagnosticsSitBelowTheTransportsAndBesideTheEngine() {
        noClasses().that().resideInAPackage("io.loragate.diagnostics..")
                .should().dependOnClassesThat().resideInAnyPackage("io.loragate.api..", "io.loragate.engine..",
                        "io.loragate.service..")
                .allowEmptyShould(true)
                .check(classes);
        noClasses().that().resideInAnyPackage("io.loragate.model..", "io.loragate.adapter..", "io.loragate.registry..",
                        "io.loragate.training..", "io.loragate.runtime..", "io.loragate.engine..")
                .should().dependOnClassesThat().resideInAPackage("io.loragate.diagnostics..")
                .check(classes);
    }

    @Test
    void runtimeHoldsOnlyTheResidentBase() {
        noClasses().that().resideInAPackage("io.loragate.runtime..")
                .should().dependOnClassesThat().resideInAnyPackage("io.loragate.adapter..", "io.loragate.engine..",
                        "io.loragate.registry..", "io.loragate.training..", "io.loragate.service..", "io.loragate.api..")
                .check(classes);
    }

    @Test
    void servicesSitBelowTheTransports() {
        noClasses().that().resideInAPackage("io.loragate.service..")
                .should().dependOnClassesThat().resideInAPackage("io.loragate.api..")
                .allowEmptyShould(true)
                .check(classes);
        noClasses().that().resideInAnyPackage("io.loragate.engine..", "io.loragate.registry..", "io.loragate.training..")
                .should().dependOnClassesThat().resideInAPackage("io.loragate.service..")
                .allowEmptyShould(true)
                .check(classes);
    }

    @Test
    void lowerLayersNeverImportTransports() {
        noClasses().that().resideInAnyPackage("io.loragate.model..", "io.loragate.adapter..", "io.loragate.engine..",
                        "io.loragate.registry..", "io.loragate.training..", "io.loragate.config..", "io.loragate.runtime..")
                .should().dependOnClassesThat().resideInAPackage("io.loragate.api..")
                .check(classes);
    }

    /** The CLI is a pure HTTP client: no server package, no Quarkus/CDI/Vert.x, only the JDK, Jackson and picocli. */
    @Test
    void cliIsAPureHttpClient() {
        classes().that().resideInAPackage("io.loragate.cli..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("io.loragate.cli..", "java..", "javax..",
                        "com.fasterxml.jackson..", "picocli..")
                .check(classes);
        noClasses().that().resideOutsideOfPackage("io.loragate.cli..")
                .should().dependOnClassesThat().resideInAPackage("io.loragate.cli..")
                .check(classes);
    }

    /** What every layer uses (errors, path checks, JSON limits, JDBC transactions) imports no loragate layer. */
    @Test
    void commonImportsNoOtherLayer() {
        classes().that().resideInAPackage("io.loragate.common..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("io.loragate.common..", "java..", "javax..",
                        "com.fasterxml.jackson..", "org.jboss.logging..")
                .check(classes);
    }

    /** No two packages import each other, directly or through others. */
    @Test
    void noPackageCycles() {
        slices().matching("io.loragate.(**)").should().beFreeOfCycles().check(classes);
    }
}
