using System.Security.Cryptography;
using System.Text;

namespace Reconciliation.PgBouncer;

/// <summary>
/// The client side of SCRAM-SHA-256 (RFC 5802 / 7677) as PostgreSQL and PgBouncer use it: no channel binding
/// (<c>n,,</c>), the user name taken from the startup message (so <c>n=*</c>), and the server's final signature checked,
/// so a peer that does not know the password cannot pretend the login succeeded.
/// </summary>
internal sealed class ScramClient
{
    public const string Mechanism = "SCRAM-SHA-256";
    private const string Gs2Header = "n,,";

    private readonly string _password;
    private readonly string _clientNonce;
    private string? _clientFirstBare;
    private byte[]? _expectedServerSignature;

    public ScramClient(string password, string? clientNonce = null)
    {
        _password = password;
        _clientNonce = clientNonce ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
    }

    public string ClientFirstMessage()
    {
        _clientFirstBare = "n=*,r=" + _clientNonce;
        return Gs2Header + _clientFirstBare;
    }

    /// <summary>Answers the server-first message; throws <see cref="PgBouncerProtocolException"/> when it is malformed.</summary>
    public string ClientFinalMessage(string serverFirst)
    {
        if (_clientFirstBare is null)
        {
            throw new InvalidOperationException("ClientFirstMessage first.");
        }

        string? nonce = null, salt = null, iterations = null;
        foreach (var part in serverFirst.Split(','))
        {
            if (part.StartsWith("r=", StringComparison.Ordinal))
            {
                nonce = part[2..];
            }
            else if (part.StartsWith("s=", StringComparison.Ordinal))
            {
                salt = part[2..];
            }
            else if (part.StartsWith("i=", StringComparison.Ordinal))
            {
                iterations = part[2..];
            }
        }

        if (nonce is null || salt is null || iterations is null
            || !nonce.StartsWith(_clientNonce, StringComparison.Ordinal) || nonce.Length == _clientNonce.Length
            || !int.TryParse(iterations, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
            || count < 1 || count > 10_000_000)
        {
            throw new PgBouncerProtocolException("The SCRAM server-first message is malformed (nonce, salt or iteration count missing or invalid).");
        }

        byte[] saltBytes;
        try
        {
            saltBytes = Convert.FromBase64String(salt);
        }
        catch (FormatException e)
        {
            throw new PgBouncerProtocolException("The SCRAM server-first message has a salt that is not base64.", e);
        }

        var saltedPassword = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(_password), saltBytes, count, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(saltedPassword, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var clientFinalWithoutProof = "c=" + Convert.ToBase64String(Encoding.ASCII.GetBytes(Gs2Header)) + ",r=" + nonce;
        var authMessage = Encoding.UTF8.GetBytes(_clientFirstBare + "," + serverFirst + "," + clientFinalWithoutProof);
        var clientSignature = HMACSHA256.HashData(storedKey, authMessage);
        var proof = new byte[clientKey.Length];
        for (var i = 0; i < proof.Length; i++)
        {
            proof[i] = (byte)(clientKey[i] ^ clientSignature[i]);
        }

        var serverKey = HMACSHA256.HashData(saltedPassword, "Server Key"u8);
        _expectedServerSignature = HMACSHA256.HashData(serverKey, authMessage);
        return clientFinalWithoutProof + ",p=" + Convert.ToBase64String(proof);
    }

    /// <summary>True when the server-final message carries the signature only a holder of the password can compute.</summary>
    public bool VerifyServerFinal(string serverFinal)
    {
        if (_expectedServerSignature is null)
        {
            return false;
        }

        foreach (var part in serverFinal.Split(','))
        {
            if (part.StartsWith("v=", StringComparison.Ordinal))
            {
                try
                {
                    return CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(part[2..]), _expectedServerSignature);
                }
                catch (FormatException)
                {
                    return false;
                }
            }
        }

        return false;
    }
}
