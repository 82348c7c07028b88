package io.loragate;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.conditions.ArchConditions;
import java.util.List;
import io.loragate.common.DurableFiles;
import java.nio.channels.FileChannel;
import java.nio.file.CopyOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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

    /**
     * The transports ({@code api.rest}, {@code api.grpc} and the gRPC classes generated into
     * {@code api.grpc.v1}) call the service layer and nothing beneath it: they may use {@code service},
     * {@code common}, {@code api} and libraries, and of {@code config} only the settings
     * ({@code LoragateConfig}: request limits, the metrics guard, the OpenAPI maxima) and
     * {@code ErrorText} (the error mappers strip server paths from every message).
     */
    @Test
    void transportsCallOnlyServicesCommonAndLibraries() {
        classes().that().resideInAPackage("io.loragate.api..")
                .should(ArchConditions.onlyHaveDependenciesWhere(DescribedPredicate.describe(
                        "the target is a service, common, a transport, the settings, ErrorText or a library",
                        ArchitectureTest::allowedForTransports)))
                .check(classes);
    }

    private static boolean allowedForTransports(Dependency d) {
        String target = d.getTargetClass().getBaseComponentType().getName();
        if (!target.startsWith("io.loragate.")) {
            return true;
        }
        for (String layer : List.of("io.loragate.service.", "io.loragate.common.", "io.loragate.api.")) {
            if (target.startsWith(layer)) {
                return true;
            }
        }
        return target.equals("io.loragate.config.ErrorText") || listed(target, List.of("io.loragate.config.LoragateConfig"));
    }

    /** Whether {@code name} is one of {@code classes} or nested in one (inner classes, lambdas). */
    private static boolean listed(String name, List<String> classes) {
        return classes.stream().anyMatch(c -> name.equals(c) || name.startsWith(c + "$"));
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

    /** What every layer uses (errors, path checks, JSON limits, JDBC transactions, blob stores) imports no loragate layer. */
    @Test
    void commonImportsNoOtherLayer() {
        classes().that().resideInAPackage("io.loragate.common..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("io.loragate.common..", "java..", "javax..",
                        "com.fasterxml.jackson..", "org.jboss.logging..", "software.amazon.awssdk..") // the S3 store's client
                .check(classes);
    }

    /** Durable writes (forcing to disk, renaming into place) have one implementation: {@link DurableFiles}. */
    @Test
    void durableWritesOnlyThroughDurableFiles() {
        noClasses().that().doNotHaveFullyQualifiedName(DurableFiles.class.getName())
                .should().callMethod(FileChannel.class, "force", boolean.class)
                .orShould().callMethod(Files.class, "move", Path.class, Path.class, CopyOption[].class)
                .orShould().accessField(StandardCopyOption.class, "ATOMIC_MOVE")
                .check(classes);
    }

    /** No two packages import each other, directly or through others. */
    @Test
    void noPackageCycles() {
        slices().matching("io.loragate.(**)").should().beFreeOfCycles().check(classes);
    }
}
