// swift-tools-version: 6.0
import PackageDescription

// Dependency direction: CBLAS, CVectorKernels <- ElectraKernels <- Electra <- ElectraPipelines <- ElectraCLI.
// ElectraTokenizers stands alone (pure Swift) so servers can tokenize without the model.
// ElectraHDF5 (TF2 .h5 checkpoints) is its own product so only users who need it link HDF5.
let package = Package(
    name: "Electra",
    platforms: [.macOS(.v15)],  // Synchronization.Atomic (thread pool)
    products: [
        .library(name: "Electra", targets: ["Electra", "ElectraKernels", "ElectraTokenizers", "ElectraPipelines", "ElectraTraining"]),
        .library(name: "ElectraHDF5", targets: ["ElectraHDF5"]),
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
        .systemLibrary(
            name: "CHDF5",
            pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev", "pkg-config"]), .brew(["hdf5"])]
        ),
        // AVX2+FMA elementwise kernels, picked at run time (see its header for why C).
        .target(name: "CVectorKernels"),
        .target(
            name: "ElectraKernels",
            dependencies: ["CVectorKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux]))]
        ),
        .target(name: "Electra", dependencies: ["ElectraKernels"]),
        .target(name: "ElectraTraining", dependencies: ["Electra", "ElectraTokenizers"]),
        .target(name: "ElectraTokenizers"),
        // Text in, results out (HF pipeline() semantics): what library users and the server call.
        .target(name: "ElectraPipelines", dependencies: ["Electra", "ElectraTokenizers"]),
        .target(name: "ElectraHDF5", dependencies: ["Electra", "CHDF5"]),
        .executableTarget(
            name: "ElectraCLI",
            dependencies: [
                "Electra", "ElectraTokenizers", "ElectraPipelines", "ElectraTraining", "ElectraHDF5",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ElectraKernelsTests", dependencies: ["ElectraKernels"]),
        .testTarget(
            name: "ElectraTrainingTests", dependencies: ["ElectraTraining"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ElectraTests", dependencies: ["Electra", "ElectraHDF5"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ElectraPipelinesTests", dependencies: ["ElectraPipelines"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ElectraTokenizersTests", dependencies: ["ElectraTokenizers"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
