import Foundation
import OutpostCore
@testable import OutpostStore
import Testing

@Suite("Console sessions")
struct ConsoleSessionTests {
    static let admin = APITokenRow(id: "tok_admin", name: "admin", hash: "hash-admin", role: "admin", createdAt: t0)
    static let reader = APITokenRow(id: "tok_reader", name: "viewer", hash: "hash-viewer", role: "reader", createdAt: t0)

    /// An instant made from unix seconds, as the store keeps them, so it equals what reads back.
    static func at(_ seconds: Double) -> Date { Date(timeIntervalSince1970: t0.timeIntervalSince1970 + seconds + 0.123_456_789) }

    func seedTokens(_ store: any SQLHubStore) async throws {
        try await store.insertAPIToken(Self.admin)
        try await store.insertAPIToken(Self.reader)
    }

    static func session(_ hash: String, token: APITokenRow = reader, expiresIn seconds: TimeInterval = 3600)
        -> ConsoleSessionRow
    {
        ConsoleSessionRow(
            idHash: hash, tokenID: token.id, createdAt: Self.at(0), expiresAt: Self.at(seconds))
    }

    @Test("a session is found with its token until the moment it expires")
    func foundUntilExpiry() async throws {
        try await withStore { store in
            try await seedTokens(store)
            let session = Self.session("hash-a")
            try await store.insertConsoleSession(session)
            let found = try #require(await store.consoleSession(idHash: "hash-a", now: Self.at(10)))
            #expect(found.session == session)
            #expect(found.token == Self.reader)
            #expect(try await store.consoleSession(idHash: "hash-a", now: Self.at(3599.5)) != nil)
            #expect(try await store.consoleSession(idHash: "hash-a", now: session.expiresAt) == nil)
            #expect(try await store.consoleSession(idHash: "hash-a", now: Self.at(7200)) == nil)
            #expect(try await store.consoleSession(idHash: "hash-unknown", now: Self.at(10)) == nil)
        }
    }

    @Test("revoking the API token ends its sessions, and only its sessions")
    func revokedTokenEndsSessions() async throws {
        try await withStore { store in
            try await seedTokens(store)
            try await store.insertAPIToken(
                APITokenRow(id: "tok_admin2", name: "admin2", hash: "hash-admin2", role: "admin", createdAt: t0))
            try await store.insertConsoleSession(Self.session("hash-viewer", token: Self.reader))
            try await store.insertConsoleSession(Self.session("hash-admin", token: Self.admin))
            _ = try await store.revokeAPIToken(named: "viewer", at: Self.at(5))
            #expect(try await store.consoleSession(idHash: "hash-viewer", now: Self.at(10)) == nil)
            #expect(try await store.consoleSession(idHash: "hash-admin", now: Self.at(10))?.token.role == "admin")
            // A new token given the revoked one's name does not revive its sessions.
            try await store.insertAPIToken(
                APITokenRow(id: "tok_reader2", name: "viewer", hash: "hash-viewer-2", role: "reader", createdAt: t0))
            #expect(try await store.consoleSession(idHash: "hash-viewer", now: Self.at(10)) == nil)
        }
    }

    @Test("signing out deletes the session; signing out again is no error")
    func signOut() async throws {
        try await withStore { store in
            try await seedTokens(store)
            try await store.insertConsoleSession(Self.session("hash-a"))
            try await store.insertConsoleSession(Self.session("hash-b"))
            try await store.deleteConsoleSession(idHash: "hash-a")
            #expect(try await store.consoleSession(idHash: "hash-a", now: Self.at(10)) == nil)
            #expect(try await store.consoleSession(idHash: "hash-b", now: Self.at(10)) != nil)
            try await store.deleteConsoleSession(idHash: "hash-a")
            try await store.deleteConsoleSession(idHash: "hash-never")
        }
    }

    @Test("pruning deletes the sessions that expired before the cutoff and counts them")
    func pruning() async throws {
        try await withStore { store in
            try await seedTokens(store)
            for (hash, expiresIn) in [("hash-1", 60.0), ("hash-2", 120.0), ("hash-3", 180.0), ("hash-4", 3600.0)] {
                try await store.insertConsoleSession(Self.session(hash, expiresIn: expiresIn))
            }
            #expect(try await store.deleteConsoleSessions(expiredBefore: Self.at(0)) == 0)
            #expect(try await store.deleteConsoleSessions(expiredBefore: Self.at(120)) == 1)
            #expect(try await store.deleteConsoleSessions(expiredBefore: Self.at(180.5)) == 2)
            #expect(try await store.deleteConsoleSessions(expiredBefore: Self.at(180.5)) == 0)
            #expect(try await store.consoleSession(idHash: "hash-4", now: Self.at(200)) != nil)
            for hash in ["hash-1", "hash-2", "hash-3"] {
                #expect(try await store.consoleSession(idHash: hash, now: Self.at(-1)) == nil, "\(hash) \(onBackend)")
            }
        }
    }

    @Test("a session needs an existing API token, and its hash is unique")
    func constraints() async throws {
        try await withStore { store in
            try await seedTokens(store)
            await expectStoreError(.notFound) {
                try await store.insertConsoleSession(
                    ConsoleSessionRow(idHash: "hash-x", tokenID: "tok_missing", createdAt: t0, expiresAt: Self.at(60)))
            }
            try await store.insertConsoleSession(Self.session("hash-a"))
            let error = await expectStoreError(.conflict) {
                try await store.insertConsoleSession(Self.session("hash-a", token: Self.admin))
            }
            #expect(error?.message.contains("hash-a") == false, "the message never shows a session's hash")
            #expect(try await store.consoleSession(idHash: "hash-a", now: Self.at(10))?.token.name == "viewer")
        }
    }
}
