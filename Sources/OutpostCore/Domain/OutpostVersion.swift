/// The version of this Outpost build, reported by `outpost --version` and by agents at registration.
package enum OutpostVersion {
    package static let current = "0.1.0"
}
