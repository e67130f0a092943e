/** One access key from config (`[s3_proxy]` access keys). */
export interface S3Credential {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Access key id → secret. Several keys may be configured; all act as the one owner. */
export class CredentialStore {
  private readonly secrets = new Map<string, string>();

  constructor(credentials: readonly S3Credential[]) {
    for (const c of credentials) {
      if (c.accessKeyId === "" || c.secretAccessKey === "") throw new Error("empty S3 access key or secret");
      if (this.secrets.has(c.accessKeyId)) throw new Error(`duplicate S3 access key id ${c.accessKeyId}`);
      this.secrets.set(c.accessKeyId, c.secretAccessKey);
    }
  }

  secretFor(accessKeyId: string): string | undefined {
    return this.secrets.get(accessKeyId);
  }
}
