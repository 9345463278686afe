// swift-tools-version: 6.0
import PackageDescription

// Dependency direction: CBLAS <- ElectraKernels <- Electra <- ElectraCLI.
// ElectraTokenizers stands alone (pure Swift) so servers can tokenize without the model.
let package = Package(
    name: "Electra",
    platforms: [.macOS(.v15)],  // Synchronization.Atomic (thread pool)
    products: [
        .library(name: "Electra", targets: ["Electra", "ElectraKernels", "ElectraTokenizers", "ElectraTraining"]),
        .executable(name: "electra", targets: ["ElectraCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // OpenBLAS through pkg-config on Linux; on macOS the kernels import Accelerate instead.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "pkg-config"])]
        ),
        .target(
            name: "ElectraKernels",
            dependencies: [.target(name: "CBLAS", condition: .when(platforms: [.linux]))]
        ),
        .target(name: "Electra", dependencies: ["ElectraKernels"]),
        .target(name: "ElectraTraining", dependencies: ["Electra", "ElectraTokenizers"]),
        .target(name: "ElectraTokenizers"),
        .executableTarget(
            name: "ElectraCLI",
            dependencies: [
                "Electra", "ElectraTokenizers", "ElectraTraining",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ElectraKernelsTests", dependencies: ["ElectraKernels"]),
        .testTarget(
            name: "ElectraTrainingTests", dependencies: ["ElectraTraining"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ElectraTests", dependencies: ["Electra"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ElectraTokenizersTests", dependencies: ["ElectraTokenizers"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
