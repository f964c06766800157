// The independent verifier of the seal tests: ofdrw-sign checks every SES signature of an OFD
// (the References' digests, Signature.xml against the SES dataHash, the signer's SM2 signature).
// It also reads the document's structure (OFD.xml, Document.xml, the pages) with ofdrw's reader.
// Usage: java -cp <jars>:<dir> OfdVerify file.ofd ...
// Prints "OK <file> pages=<n>" or "FAIL <file>: <why>".
// Exit status: 0 when every file verifies, 1 otherwise.
import java.nio.file.Path;
import java.nio.file.Paths;

import org.ofdrw.reader.OFDReader;
import org.ofdrw.sign.verify.OFDValidator;
import org.ofdrw.sign.verify.container.SESV4ValidateContainer;

public class OfdVerify {
    public static void main(String[] args) {
        int failed = 0;
        for (String arg : args) {
            Path file = Paths.get(arg);
            try (OFDReader reader = new OFDReader(file);
                 OFDValidator validator = new OFDValidator(reader)) {
                int pages = reader.getNumberOfPages();
                validator.setValidator(new SESV4ValidateContainer());
                validator.exeValidate();
                System.out.println("OK " + arg + " pages=" + pages);
            } catch (Throwable e) {
                failed++;
                String msg = String.valueOf(e.getMessage()).replace('\n', ' ');
                System.out.println("FAIL " + arg + ": " + e.getClass().getSimpleName() + ": " + msg);
            }
        }
        System.exit(failed == 0 ? 0 : 1);
    }
}
