// JDBC (MariaDB Connector/J, Debian's libmariadb-java) through shardgate: TLS
// verified against the proxy's certificate, caching_sha2_password (switched
// to it for a user stored as password_sha2 only; over plain TCP too),
// mysql_native_password, wrong passwords; after the reload, 3159 for plain
// logins and the renewed certificate. Environment and users: see
// tests/clients/ops/test_auth_tls.py.

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

public class AuthTls {
    static final String PORT = System.getenv("OPS_PORT");
    static final List<Boolean> RESULTS = new ArrayList<>();

    interface Check {
        void run() throws Exception;
    }

    static void check(String name, Check fn) {
        try {
            fn.run();
            RESULTS.add(true);
            System.out.println("ok   " + name);
        } catch (Exception | AssertionError e) {
            RESULTS.add(false);
            System.out.println("FAIL " + name + "\n  " + e);
        }
    }

    /** A connection; with `ca`, over TLS trusting only that certificate (host name checked). */
    static Connection connect(String user, String password, String ca) throws SQLException {
        String url = "jdbc:mariadb://127.0.0.1:" + PORT + "/demo?connectTimeout=10000&user=" + user
            + "&password=" + password;
        url += ca == null
            ? "&useSsl=false&allowPublicKeyRetrieval=true"
            : "&useSsl=true&serverSslCert=" + ca;
        return DriverManager.getConnection(url);
    }

    static void selectOne(String user, String password, String ca) throws SQLException {
        try (Connection c = connect(user, password, ca);
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT 1")) {
            if (!rs.next() || rs.getInt(1) != 1) {
                throw new AssertionError("SELECT 1 gave no 1");
            }
        }
    }

    static void expectError(int code, String user, String password, String ca) {
        try (Connection c = connect(user, password, ca)) {
            throw new AssertionError("expected error " + code + ", the login worked");
        } catch (SQLException e) {
            if (e.getErrorCode() != code) {
                throw new AssertionError("expected " + code + ", got " + e.getErrorCode() + ": " + e);
            }
        }
    }

    public static void main(String[] args) {
        String ca = System.getenv("OPS_CA");
        if ("required".equals(System.getenv("OPS_PHASE"))) {
            String oldCa = System.getenv("OPS_OLD_CA");
            check("jdbc: plain TCP refused with 3159", () -> expectError(3159, "app", "app_pw", null));
            check("jdbc: TLS verified against the renewed certificate", () -> selectOne("s2", "s2_pw", ca));
            check("jdbc: the certificate from before the renewal no longer verifies", () -> {
                try (Connection c = connect("s2", "s2_pw", oldCa)) {
                    throw new AssertionError("the old certificate still verified");
                } catch (SQLException e) {
                    if (!String.valueOf(e).toLowerCase().contains("certificate")
                        && !String.valueOf(e).contains("PKIX")) {
                        throw new AssertionError("not a certificate error: " + e);
                    }
                }
            });
        } else {
            check("jdbc: TLS, caching_sha2_password (password_sha2 only)", () -> selectOne("s2", "s2_pw", ca));
            check("jdbc: TLS, mysql_native_password (password_sha1 only)", () -> selectOne("s1", "s1_pw", ca));
            check("jdbc: plain TCP, caching_sha2_password fast path", () -> selectOne("s2", "s2_pw", null));
            check("jdbc: plain TCP, mysql_native_password", () -> selectOne("app", "app_pw", null));
            check("jdbc: wrong passwords: 1045", () -> {
                expectError(1045, "s2", "nope", ca);
                expectError(1045, "s2", "nope", null);
                expectError(1045, "s1", "nope", null);
            });
        }
        long passed = RESULTS.stream().filter(b -> b).count();
        System.out.println(passed + " passed, " + (RESULTS.size() - passed) + " failed");
        System.exit(passed == RESULTS.size() && !RESULTS.isEmpty() ? 0 : 1);
    }
}
