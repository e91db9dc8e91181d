// A container app whose ingress requires a client certificate and forwards it to the app.
param location string = resourceGroup().location
param environmentId string
param image string
@secure()
param clientCaPem string

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: 'clientcert-demo'
  location: location
  properties: {
    environmentId: environmentId
    configuration: {
      secrets: [
        { name: 'client-ca-pem', value: clientCaPem }
      ]
      ingress: {
        external: true
        targetPort: 3000
        transport: 'http'
        // require | accept | ignore — the app's `mode` should say the same
        clientCertificateMode: 'require'
      }
    }
    template: {
      containers: [
        {
          name: 'app'
          image: image
          env: [
            { name: 'CLIENT_CA_PEM', secretRef: 'client-ca-pem' }
            { name: 'CLIENT_CERT_MODE', value: 'require' }
          ]
          probes: [
            { type: 'Liveness', httpGet: { path: '/healthz', port: 3000 } }
          ]
        }
      ]
    }
  }
}

output url string = 'https://${app.properties.configuration.ingress.fqdn}'
