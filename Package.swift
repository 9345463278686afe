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
        // Hub names (org/name@revision) resolved into the Hugging Face cache; links AsyncHTTPClient.
        .library(name: "ElectraHub", targets: ["ElectraHub"]),
        // `electra serve` as a library: TEI's API and ELECTRA's tasks over the pipelines (Hummingbird).
        .library(name: "ElectraServer", targets: ["ElectraServer"]),
        .executable(name: "electra", targets: ["ElectraCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The Hub client: a maintained HTTP client, SHA-256 for LFS checks, NIO for the test's mock Hub.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // `electra serve`: the HTTP server, graceful shutdown, Prometheus metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
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
        .target(
            name: "ElectraHub",
            dependencies: [
                "Electra",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "ElectraServer",
            dependencies: [
                "Electra", "ElectraTokenizers", "ElectraPipelines",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "ElectraCLI",
            dependencies: [
                "Electra", "ElectraTokenizers", "ElectraPipelines", "ElectraTraining", "ElectraHDF5", "ElectraHub", "ElectraServer",
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
            name: "ElectraHubTests",
            dependencies: [
                "ElectraHub", "ElectraPipelines",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ElectraServerTests",
            dependencies: [
                "ElectraServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
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
