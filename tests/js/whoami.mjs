// Who the AWS SDK for JavaScript v3's default credential chain says we are.
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";

const client = new STSClient({});
const identity = await client.send(new GetCallerIdentityCommand({}));
console.log(identity.Arn);
