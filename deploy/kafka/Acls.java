// SCRAM users and ACLs for the project's own broker in SASL mode (tools/kafka_local.py), applied
// with Kafka's own Admin client through one connection. Run by the JDK's source launcher:
//   java -cp '<kafka libs>/*' deploy/kafka/Acls.java BOOTSTRAP ADMIN_USER ADMIN_PASSWORD < spec
// The spec, one item a line (written by kafka_local from tools/deploy_gen.py's KafkaUsers):
//   user NAME PASSWORD                                   SCRAM-SHA-512 credentials (upserted)
//   acl PRINCIPAL RESOURCE_TYPE NAME PATTERN OPERATION   an ALLOW rule from any host
// Creating an ACL that exists already changes nothing, so the spec is applied at every start.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class Acls {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        props.put("security.protocol", "SASL_PLAINTEXT");
        props.put("sasl.mechanism", "PLAIN");
        props.put("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required "
                + "username=\"" + args[1] + "\" password=\"" + args[2] + "\";");
        props.put("request.timeout.ms", "30000");
        List<UserScramCredentialAlteration> users = new ArrayList<>();
        List<AclBinding> acls = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String[] f = line.trim().split("\\s+");
            if (f[0].isEmpty() || f[0].startsWith("#")) continue;
            if (f[0].equals("user") && f.length == 3) {
                users.add(new UserScramCredentialUpsertion(
                        f[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), f[2]));
            } else if (f[0].equals("acl") && f.length == 6) {
                ResourceType type = ResourceType.fromString(f[2]);
                PatternType pattern = PatternType.fromString(f[4]);
                AclOperation op = AclOperation.fromString(f[5]);
                if (type == ResourceType.UNKNOWN || pattern == PatternType.UNKNOWN || op == AclOperation.UNKNOWN) {
                    throw new IllegalArgumentException("unknown resource type, pattern or operation: " + line);
                }
                acls.add(new AclBinding(new ResourcePattern(type, f[3], pattern),
                        new AccessControlEntry(f[1], "*", op, AclPermissionType.ALLOW)));
            } else {
                throw new IllegalArgumentException("not a spec line: " + line);
            }
        }
        try (Admin admin = Admin.create(props)) {
            if (!users.isEmpty()) admin.alterUserScramCredentials(users).all().get();
            if (!acls.isEmpty()) admin.createAcls(acls).all().get();
        }
        System.out.println(users.size() + " users, " + acls.size() + " ACLs");
    }
}
